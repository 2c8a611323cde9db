"""Global frequency caps that hold exactly (issue 14, item 10): test sends take no slot, and two
dispatches sending to one person at the same moment cannot both take that person's last slot."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from delivery.actions import sending
from delivery.models import DeliverySettings, Dispatch, Message
from delivery.tests.engine import started_dispatch, vapid_key, web_audience
from tests.processes import ROOT, database_url
from tests.pushservices.webpush import WebPushService

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def service():
    with WebPushService() as running:
        yield running


def caps(daily=None, weekly=None):
    DeliverySettings.objects.update_or_create(pk=1, defaults={"daily_cap": daily, "weekly_cap": weekly})


def sent_earlier(device, when):
    other = Dispatch.objects.create(channel="web_push", label="earlier", status=Dispatch.Status.DONE)
    Message.objects.create(dispatch=other, profile_id=device.profile_id, device=device, status="sent", sent_at=when)


@pytest.mark.django_db
@pytest.mark.parametrize(("daily", "weekly"), [(1, None), (None, 1)])
def test_test_sends_to_a_person_do_not_count_against_their_frequency_caps(service, daily, weekly):
    vapid_key()
    caps(daily, weekly)
    [(device, subscriber)] = web_audience(service, 1)
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        test = started_dispatch([device], {"title": "Does this look right?"}, is_test=True)
        sending.send_batch(test.pk)
    with time_machine.travel(T0, tick=False):
        real = started_dispatch([device], {"title": "Spring sale"})
        sending.send_batch(real.pk)

    assert Message.objects.get(dispatch=test).status == "sent"
    row = Message.objects.get(dispatch=real)
    assert (row.status, row.code) == ("sent", "")
    assert [payload["title"] for payload in service.payloads(subscriber)] == ["Does this look right?", "Spring sale"]


@pytest.mark.django_db
def test_a_real_send_still_counts_after_a_test_send_took_no_slot(service):
    vapid_key()
    caps(daily=1)
    [(device, _)] = web_audience(service, 1)
    with time_machine.travel(T0, tick=False):
        sent_earlier(device, T0 - timedelta(hours=2))
        test = started_dispatch([device], {"title": "Test"}, is_test=True)
        sending.send_batch(test.pk)
        real = started_dispatch([device], {"title": "Spring sale"})
        sending.send_batch(real.pk)

    row = Message.objects.get(dispatch=real)
    assert (row.status, row.code) == ("dropped", "frequency_cap")


# A send worker of its own (Celery's prefork pool runs each in a process): it waits for "go" on
# stdin, so the test starts both batches at the same moment, then sends one batch.
WORKER = """
import sys, django, time_machine
from datetime import datetime
django.setup()
from delivery.actions import sending
with time_machine.travel(datetime.fromisoformat(sys.argv[2]), tick=True):
    print("ready", flush=True)
    sys.stdin.readline()
    sending.send_batch(int(sys.argv[1]))
"""


def send_at_once(*dispatches):
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": database_url()}
    args = [sys.executable, "-c", WORKER]
    workers = [
        subprocess.Popen(
            [*args, str(d.pk), T0.isoformat()],
            cwd=ROOT,
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for d in dispatches
    ]
    for worker in workers:
        assert worker.stdout.readline().strip() == "ready", worker.stderr.read()
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    for worker in workers:
        _, errors = worker.communicate(timeout=60)
        assert worker.returncode == 0, errors


@pytest.mark.django_db(transaction=True)
def test_two_dispatches_sending_at_once_cannot_both_take_a_persons_last_slot(service):
    """Two workers send a batch of two different campaigns to one person with one slot left
    (daily cap 2, one push two hours ago). The push service answers after a second, so each
    worker decides while the other's push may still be in flight: exactly one is sent."""
    vapid_key()
    caps(daily=2)
    [(device, subscriber)] = web_audience(service, 1)
    service.slow(subscriber, 1.0)
    with time_machine.travel(T0, tick=True):
        sent_earlier(device, T0 - timedelta(hours=2))
        spring = started_dispatch([device], {"title": "Spring sale"})
        summer = started_dispatch([device], {"title": "Summer sale"})
        send_at_once(spring, summer)

    rows = Message.objects.filter(dispatch__in=[spring, summer])
    assert sorted(rows.values_list("status", "code")) == [("dropped", "frequency_cap"), ("sent", "")]
    assert len(service.payloads(subscriber)) == 1
    assert rows.get(status="dropped").sent_at is None


@pytest.mark.django_db(transaction=True)
def test_a_slot_taken_by_a_push_that_then_fails_is_given_back(service):
    vapid_key()
    caps(daily=1)
    [(device, subscriber)] = web_audience(service, 1)
    service.answer(subscriber, 400)
    with time_machine.travel(T0, tick=False):
        failing = started_dispatch([device], {"title": "Spring sale"})
        sending.send_batch(failing.pk)
        after = started_dispatch([device], {"title": "Summer sale"})
        sending.send_batch(after.pk)

    assert Message.objects.get(dispatch=failing).status == "failed"
    assert Message.objects.get(dispatch=failing).sent_at is None
    assert Message.objects.get(dispatch=after).status == "sent"
