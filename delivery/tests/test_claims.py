"""Claims with a heartbeat (delivery/actions/claims.py): a short lease that a working batch
renews, that no other claim's renewal or recording can touch, and wake-ups for every hold."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from delivery.actions import sending
from delivery.actions.claims import claim, new_token, renew
from delivery.actions.dispatches import counts
from delivery.actions.sending import SEND_PART
from delivery.models import Message
from delivery.tasks import WAKES_PER_BATCH, wake_ups
from delivery.tests.engine import started_dispatch, vapid_key, web_audience
from tests.pushservices.webpush import WebPushService

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
LEASE = 60


@pytest.fixture
def service():
    with WebPushService() as running:
        yield running


@pytest.fixture
def key(db):
    return vapid_key()


def lease_ends(ids):
    return set(Message.objects.filter(pk__in=ids).values_list("claimed_until", flat=True))


@pytest.mark.django_db
@override_settings(DELIVERY_CLAIM_LEASE=LEASE)
def test_a_renewal_does_not_extend_rows_another_claim_took_over(service, key):
    audience = web_audience(service, 3)
    with time_machine.travel(T0, tick=False):
        dispatch = started_dispatch([d for d, _ in audience], {"title": "Hello"})
    first, second = new_token(), new_token()
    ids = claim(dispatch.pk, 3, T0, token=first)
    # The first worker stalls past its lease; the next claim takes its rows over.
    taken = claim(dispatch.pk, 3, T0 + timedelta(seconds=LEASE + 1), token=second)
    assert sorted(taken) == sorted(ids)

    assert renew(ids, first, T0 + timedelta(seconds=LEASE + 2)) == 0
    assert lease_ends(ids) == {T0 + timedelta(seconds=2 * LEASE + 1)}
    assert renew(ids, second, T0 + timedelta(seconds=LEASE + 2)) == 3
    assert lease_ends(ids) == {T0 + timedelta(seconds=2 * LEASE + 2)}


@pytest.mark.django_db
@override_settings(DELIVERY_CLAIM_LEASE=LEASE)
def test_a_renewal_leaves_alone_rows_already_recorded_or_queued_again(service, key):
    audience = web_audience(service, 3)
    with time_machine.travel(T0, tick=False):
        dispatch = started_dispatch([d for d, _ in audience], {"title": "Hello"})
    token = new_token()
    recorded, swept, kept = claim(dispatch.pk, 3, T0, token=token)
    Message.objects.filter(pk=recorded).update(status=Message.Status.SENT, claimed_until=None)
    Message.objects.filter(pk=swept).update(status=Message.Status.QUEUED, claimed_until=None)

    assert renew([recorded, swept, kept], token, T0 + timedelta(seconds=20)) == 1
    assert lease_ends([kept]) == {T0 + timedelta(seconds=LEASE + 20)}
    assert lease_ends([recorded, swept]) == {None}


@pytest.mark.django_db
@override_settings(DELIVERY_CLAIM_LEASE=LEASE)
def test_a_claim_whose_lease_has_not_run_out_is_not_taken(service, key):
    audience = web_audience(service, 2)
    with time_machine.travel(T0, tick=False):
        dispatch = started_dispatch([d for d, _ in audience], {"title": "Hello"})
    assert len(claim(dispatch.pk, 2, T0)) == 2
    assert claim(dispatch.pk, 2, T0 + timedelta(seconds=LEASE - 1)) == []
    assert len(claim(dispatch.pk, 2, T0 + timedelta(seconds=LEASE + 1))) == 2


@pytest.mark.django_db
def test_a_batch_does_not_record_over_rows_another_claim_took_over(service, key):
    [(device, _)] = web_audience(service, 1)
    with time_machine.travel(T0, tick=False):
        dispatch = started_dispatch([device], {"title": "Hello"})
    late, taker = new_token(), new_token()
    [pk] = claim(dispatch.pk, 1, T0, token=late)
    claim(dispatch.pk, 1, T0 + timedelta(hours=1), token=taker)

    outcomes = sending.Outcomes(T0, token=late)
    outcomes.fail({"id": pk}, "server_issue", tried=True)
    outcomes.save()
    outcomes = sending.Outcomes(T0, token=late)
    outcomes.sent({"id": pk})
    outcomes.hashes[pk] = "0" * 64
    outcomes.save()

    row = Message.objects.get(pk=pk)
    assert (row.status, row.claim_token, row.attempts) == ("sending", taker, 0)


@pytest.mark.django_db
def test_a_batch_reports_every_distinct_time_it_held_rows_until(service, key):
    [(limited, limited_sub), (firefox, firefox_sub)] = web_audience(service, 1) + web_audience(
        service, 1, browser="firefox"
    )
    service.answer(limited_sub, 429, retry_after=60)
    service.answer(firefox_sub, 429, retry_after=20)
    with time_machine.travel(T0, tick=False):
        dispatch = started_dispatch([limited, firefox], {"title": "Hello"})
        report = sending.send_batch(dispatch.pk)

    assert report.holds == [T0 + timedelta(seconds=20), T0 + timedelta(seconds=60)]
    assert wake_ups(report.holds, T0) == report.holds


def test_every_distinct_hold_time_gets_a_wake_up():
    holds = [T0 + timedelta(seconds=s) for s in (5, 20, 300)]
    assert wake_ups(holds, T0) == holds


def test_holds_within_a_tenth_of_their_wait_share_the_later_wake_up():
    holds = [T0 + timedelta(seconds=s) for s in (100, 105, 110, 111, 200)]
    # 105 and 110 are within 10 s (a tenth of 100) of 100: no row wakes before it is due.
    assert wake_ups(holds, T0) == [T0 + timedelta(seconds=s) for s in (110, 111, 200)]


def test_a_thousand_hold_times_make_a_bounded_number_of_wake_ups_and_none_past_an_hour():
    holds = [T0 + timedelta(seconds=s) for s in range(1, 1001)] + [T0 + timedelta(hours=2)]
    wakes = wake_ups(holds, T0)
    assert len(wakes) == WAKES_PER_BATCH
    assert wakes == sorted(wakes)
    # Each wake-up ends a group that started no more than a tenth of its wait (or 1 s) before.
    for before, at in zip([T0, *wakes], wakes, strict=False):
        first_in_group = before + timedelta(seconds=1)
        assert (at - first_in_group).total_seconds() <= max(1.0, 0.1 * (first_in_group - T0).total_seconds())


def in_a_thread(target):
    """Run ``target`` in a thread with its own database connection, as another worker would."""
    outcome = {}

    def run():
        try:
            outcome["value"] = target()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
@override_settings(DELIVERY_CLAIM_LEASE=6)
def test_a_batch_slower_than_its_lease_keeps_its_rows_by_renewing_them(service, key):
    [(device, subscriber)] = web_audience(service, 1)
    service.slow(subscriber, 9)  # half as long again as the lease; the read timeout is longer
    dispatch = started_dispatch([device], {"title": "Hello"})

    thread, outcome = in_a_thread(lambda: sending.send_batch(dispatch.pk))
    time.sleep(7.5)  # the first lease ran out 1.5 s ago; two renewals (every 2 s) since
    assert sending.sweep() == []
    assert claim(dispatch.pk, 10, timezone.now()) == []
    thread.join()

    assert outcome["value"].sent == 1
    assert counts(dispatch)["sent"] == 1
    assert len(service.payloads(subscriber)) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_answers_are_recorded_in_groups_while_a_slow_push_is_still_in_flight(service, key):
    fast = web_audience(service, 20)
    [(slow, slow_subscriber)] = web_audience(service, 1)
    service.slow(slow_subscriber, 4)
    dispatch = started_dispatch([d for d, _ in [*fast, (slow, None)]], {"title": "Hello"})

    thread, _ = in_a_thread(lambda: sending.send_batch(dispatch.pk))
    deadline = time.monotonic() + 3
    while counts(dispatch)["sent"] < 21 - SEND_PART and time.monotonic() < deadline:
        time.sleep(0.1)
    during = counts(dispatch)
    thread.join()

    # A worker killed now would send again the slow push and the few sent in one call with
    # it, not the whole batch.
    assert during["sent"] >= 21 - SEND_PART
    assert during["sent"] + during["sending"] == 21
    assert counts(dispatch)["sent"] == 21
