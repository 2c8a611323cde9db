"""At-least-once with collapse (DESIGN.md): a worker killed with SIGKILL in the middle of a
5,000-device web-push run loses nothing. Its claimed rows outlive their lease, the sweep queues
them again, a restarted worker sends them, and a push that had already gone out before the kill
goes again with the same Topic, so the browser shows it once."""

import os
import signal

import pytest

from config.celery import app
from delivery.actions.dispatches import counts
from delivery.models import Dispatch, Message
from delivery.providers.webpush.transport import topic_for
from delivery.tasks import sweep_expired_claims
from delivery.tests.engine import started_dispatch, vapid_key, web_audience
from tests.processes import CeleryProcesses
from tests.pushservices.webpush import WebPushService

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]

DEVICES = 5000
LEASE = 10  # seconds; short, so the test does not wait ten minutes for the claims to expire
BATCH = 250


@pytest.fixture
def webpush():
    with WebPushService() as running:
        yield running


@pytest.fixture
def processes(tmp_path, monkeypatch):
    processes = CeleryProcesses(tmp_path)
    monkeypatch.setenv("DELIVERY_CLAIM_LEASE", str(LEASE))
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
    worker = processes.start("worker")
    dispatch = started_dispatch([device for device, _ in audience], {"title": "Hi {{ profile.first_name }}"})

    processes.wait_for(lambda: delivered(webpush) >= DEVICES // 5, 120, "a fifth of the pushes to arrive")
    kill(processes, worker)
    at_kill = counts(dispatch)
    assert at_kill["sent"] < DEVICES, "the run finished before the kill; nothing was tested"

    processes.start("worker")

    def done():
        if Dispatch.objects.get(pk=dispatch.pk).status == Dispatch.Status.DONE:
            return True
        sweep_expired_claims.delay()  # what beat does every minute, more often
        return False

    processes.wait_for(done, 240, f"the run to finish after the restart (at the kill: {at_kill})")

    assert counts(dispatch)["sent"] == DEVICES
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
    print(f"at the kill {at_kill}; pushes sent twice: {resent}")
