"""A send task sends batches one after another and claims each next one while the one before
sends (delivery/actions/claims.py ``Ahead``, sending.py ``send_batches``): the batch claimed
ahead is kept by its own keeper from the moment of its claim, let go at once when it is not
sent, and re-checked against a pause or a stop before it goes."""

import threading
import time

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from delivery import tasks
from delivery.actions import sending
from delivery.actions.claims import claim
from delivery.actions.dispatches import counts, do_stop
from delivery.models import Dispatch, Message
from delivery.tests.engine import started_dispatch, vapid_key, web_audience
from tests.pushservices.webpush import WebPushService

pytestmark = pytest.mark.django_db(transaction=True)

LEASE = 6  # seconds: the keeper renews every 2
SLOW = 3  # seconds each push is held by the service


@pytest.fixture
def service():
    with WebPushService() as running:
        yield running


@pytest.fixture
def queued(monkeypatch):
    """The send tasks queued (the test sends the batches itself)."""
    calls = []
    monkeypatch.setattr(tasks.send_batch, "delay", lambda *args: calls.append(args))
    return calls


def run(service, count, queued):
    vapid_key()
    audience = web_audience(service, count)
    dispatch = started_dispatch([device for device, _ in audience], {"title": "Hi {{ profile.first_name }}"})
    queued.clear()  # the tasks the start queued on commit
    return dispatch, audience


def claims_in_flight(dispatch):
    """{token: {claimed_until}} of the dispatch's rows being sent."""
    found = {}
    rows = Message.objects.filter(dispatch=dispatch, status=Message.Status.SENDING)
    for token, until in rows.values_list("claim_token", "claimed_until"):
        found.setdefault(token, set()).add(until)
    return found


@override_settings(DELIVERY_CLAIM_LEASE=LEASE)
def test_the_next_batch_is_claimed_and_kept_while_the_one_before_sends(service, queued):
    if connection.vendor != "postgresql":
        pytest.skip("claimed ahead on a thread on PostgreSQL only; SQLite has one writer")
    dispatch, audience = run(service, 6, queued)
    for _, subscriber in audience:
        service.slow(subscriber, SLOW)
    seen = []  # what a watcher saw while pushes were held by the service
    done = threading.Event()

    def watch():
        try:
            while not done.is_set():
                if service.waiting:
                    seen.append(claims_in_flight(dispatch))
                time.sleep(0.1)
        finally:
            connection.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        reports = list(sending.send_batches(dispatch.pk, size=3, seconds=60))
    finally:
        done.set()
        watcher.join()

    assert [report.sent for report in reports] == [3, 3, 0]
    assert counts(dispatch)["sent"] == 6
    assert Dispatch.objects.get(pk=dispatch.pk).status == Dispatch.Status.DONE
    # While the first batch's pushes were held, the second batch was already claimed, by a
    # token of its own, and its keeper renewed it meanwhile (its lease moved on).
    [second] = seen[-1]  # the only claim left in flight at the end: the second batch's
    while_first = [found[second] for found in seen if len(found) == 2]
    assert while_first, f"never two claims at once: {seen[:5]}"
    assert len(set().union(*while_first)) > 1, "the batch claimed ahead was not renewed while it waited"
    assert all(len(service.received[subscriber.id]) == 1 for _, subscriber in audience)


def test_the_people_of_a_batch_claimed_ahead_are_read_with_its_claim(service, queued):
    if connection.vendor != "postgresql":
        pytest.skip("claimed ahead on a thread on PostgreSQL only; SQLite has one writer")
    dispatch, audience = run(service, 6, queued)

    with CaptureQueriesContext(connection) as here:
        reports = list(sending.send_batches(dispatch.pk, size=3, seconds=60))

    assert [report.sent for report in reports] == [3, 3, 0]
    read_here = [query for query in here.captured_queries if 'FROM "segments_profile"' in query["sql"]]
    # The first batch's people, read in line with its claim; the second's were read on the
    # claim thread while the first was sent.
    assert len(read_here) == 1, read_here
    assert {payload["title"] for _, subscriber in audience for payload in service.payloads(subscriber)} == {"Hi Zoë"}


def test_one_task_sends_batch_after_batch_and_queues_no_other(service, queued, settings):
    settings.DELIVERY_BATCH_SIZE = 3
    dispatch, audience = run(service, 7, queued)

    tasks.send_batch(dispatch.pk)  # what the worker runs

    assert counts(dispatch)["sent"] == 7
    assert Dispatch.objects.get(pk=dispatch.pk).status == Dispatch.Status.DONE
    assert queued == []  # the task did not hand the dispatch over after each batch
    assert all(len(service.received[subscriber.id]) == 1 for _, subscriber in audience)


def test_a_task_that_used_its_time_queues_the_next(service, queued, settings, monkeypatch):
    settings.DELIVERY_BATCH_SIZE = 3
    monkeypatch.setattr(sending, "TASK_SECONDS", 0)
    dispatch, _ = run(service, 7, queued)

    tasks.send_batch(dispatch.pk)

    assert counts(dispatch)["sent"] == 3
    assert counts(dispatch)["queued"] == 4
    assert queued == [(dispatch.pk,)]


def test_a_batch_claimed_ahead_and_not_sent_is_queued_again_at_once(service, queued):
    dispatch, audience = run(service, 6, queued)
    reports = sending.send_batches(dispatch.pk, size=3, seconds=60)
    assert next(reports).sent == 3

    reports.close()  # the caller stops (a failure, a shutdown) with the next batch claimed

    assert counts(dispatch)["sent"] == 3
    assert counts(dispatch)["queued"] == 3
    assert not Message.objects.filter(dispatch=dispatch, status=Message.Status.SENDING).exists()
    # Claimable now, not a lease later.
    assert len(claim(dispatch.pk, 10, Message.objects.latest("updated_at").updated_at)) == 3
    assert sum(len(service.received[subscriber.id]) for _, subscriber in audience) == 3


def test_a_stop_while_the_next_batch_waits_sends_nothing_more(service, queued):
    dispatch, audience = run(service, 6, queued)
    reports = sending.send_batches(dispatch.pk, size=3, seconds=60)
    assert next(reports).sent == 3

    do_stop(Dispatch.objects.get(pk=dispatch.pk))
    assert list(reports) == []
    sending.sweep()  # drops what a stopped dispatch still has queued

    assert sum(len(service.received[subscriber.id]) for _, subscriber in audience) == 3
    assert counts(dispatch)["sent"] == 3
    assert counts(dispatch)["dropped"] == 3
    assert set(
        Message.objects.filter(dispatch=dispatch, status=Message.Status.DROPPED).values_list("code", flat=True)
    ) == {"stopped"}
