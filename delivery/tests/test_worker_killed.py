"""At-least-once with collapse (DESIGN.md): a worker killed with SIGKILL in the middle of a
5,000-device web-push run loses nothing. Its claimed rows stop being renewed, their short lease
(the default, a minute) runs out, a claim or the sweep (a real beat, every 15 s) takes them
again, a restarted worker sends them, and a push that had already gone out before the kill goes
again with the same Topic, so the browser shows it once. All within two minutes of the kill."""

import os
import signal
import time

import pytest

from config.celery import app
from delivery.actions.dispatches import counts
from delivery.models import Dispatch, Message
from delivery.providers.webpush.transport import topic_for
from delivery.tests.engine import started_dispatch, vapid_key, web_audience
from tests.processes import CeleryProcesses
from tests.pushservices.webpush import WebPushService

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]

DEVICES = 5000
BATCH = 250
RECOVERY = 120  # seconds from the kill to the last push (issue 12)
SLOW = 5  # seconds one subscriber takes to answer, so the kill finds its batch in flight


@pytest.fixture
def webpush():
    with WebPushService() as running:
        yield running


@pytest.fixture
def processes(tmp_path, monkeypatch):
    processes = CeleryProcesses(tmp_path)
    monkeypatch.delenv("DELIVERY_CLAIM_LEASE", raising=False)  # the default lease
    monkeypatch.setenv("DELIVERY_BATCH_SIZE", str(BATCH))
    default_queue = app.conf.task_default_queue
    app.conf.task_default_queue = processes.queue  # this process's send tasks go to its worker
    yield processes
    app.conf.task_default_queue = default_queue
    processes.stop()


def delivered(webpush):
    return sum(len(items) for items in webpush.received.values())


def kill(processes, proc):
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    processes.procs = [entry for entry in processes.procs if entry[1] is not proc]


def test_a_killed_worker_loses_no_message_and_a_resend_keeps_its_topic(processes, webpush):
    vapid_key()
    audience = web_audience(webpush, DEVICES, name="Zoë Example")
    webpush.slow(audience[DEVICES // 5 + BATCH // 2][1], SLOW)
    processes.start("beat")
    worker = processes.start("worker")
    dispatch = started_dispatch([device for device, _ in audience], {"title": "Hi {{ profile.first_name }}"})

    processes.wait_for(lambda: webpush.waiting, 120, "a batch to be in flight past a fifth of the run")
    kill(processes, worker)
    killed_at = time.time()
    at_kill = counts(dispatch)
    assert at_kill["sending"], f"no batch was in flight at the kill; nothing was tested: {at_kill}"

    processes.start("worker")
    processes.wait_for(
        lambda: Dispatch.objects.get(pk=dispatch.pk).status == Dispatch.Status.DONE,
        RECOVERY + 60,
        f"the run to finish after the restart (at the kill: {at_kill})",
    )

    assert counts(dispatch)["sent"] == DEVICES
    last = max(item.at for items in webpush.received.values() for item in items)
    message_ids = dict(Message.objects.filter(dispatch=dispatch).values_list("device_id", "pk"))
    resent = 0
    for device, subscriber in audience:
        received = webpush.received[subscriber.id]
        assert received, f"device {device.pk} was never served"
        assert {item.payload["title"] for item in received} == {"Hi Zoë"}
        assert {item.payload["data"]["message_id"] for item in received} == {message_ids[device.pk]}
        assert {item.headers["Topic"] for item in received} == {topic_for(f"{dispatch.pk}-{device.pk}")}
        resent += len(received) - 1
    # Only rows claimed by the killed worker can go twice: at most the batches it held.
    assert resent <= at_kill["sending"]
    print(f"at the kill {at_kill}; pushes sent twice: {resent}; last push {last - killed_at:.0f} s after the kill")
    assert last - killed_at <= RECOVERY
