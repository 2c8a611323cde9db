"""The send pipeline in one process: a batch claimed, decided, rendered, sent to the local Web Push
service and recorded, with the clock set by time_machine."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.test import override_settings

from delivery.actions import sending
from delivery.actions.claims import claim
from delivery.actions.dispatches import counts
from delivery.models import DeliverySettings, Dispatch, Message
from delivery.providers.webpush.transport import topic_for
from delivery.tests.engine import started_dispatch, vapid_key, web_audience
from tests.pushservices.webpush import WebPushService

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
GREETING = {"title": "Hi {{ profile.first_name }}", "body": "Your {{ profile.plan | default: 'free' }} plan"}


@pytest.fixture
def service():
    with WebPushService() as running:
        yield running


@pytest.fixture
def key(db):
    return vapid_key()


def statuses(dispatch):
    return dict(Message.objects.filter(dispatch=dispatch).values_list("device_id", "status"))


def message(dispatch, device):
    return Message.objects.get(dispatch=dispatch, device=device)


def test_each_subscriber_decrypts_its_own_personalised_text(service, key):
    audience = web_audience(service, 3, name="Zoë Example", properties={"plan": "gold"})
    dispatch = started_dispatch([d for d, _ in audience], GREETING)

    report = sending.send_batch(dispatch.pk)

    assert (report.claimed, report.sent, report.more) == (3, 3, False)
    for device, subscriber in audience:
        [payload] = service.payloads(subscriber)
        row = message(dispatch, device)
        assert (payload["title"], payload["body"]) == ("Hi Zoë", "Your gold plan")
        assert payload["data"]["message_id"] == row.pk
        assert payload["tag"] == f"clarion-{dispatch.pk}-{device.pk}"
        [received] = service.received[subscriber.id]
        assert received.headers["Topic"] == topic_for(f"{dispatch.pk}-{device.pk}")
        assert (row.status, row.attempts, row.code, len(row.payload_hash)) == ("sent", 1, "", 64)
    dispatch.refresh_from_db()
    assert dispatch.status == Dispatch.Status.DONE


def test_a_render_error_fails_that_message_and_not_the_batch(service, key):
    good = web_audience(service, 2, properties={"per_box": 2})
    bad = web_audience(service, 1, properties={"per_box": 0})
    content = {"title": "{{ 10 | divided_by: profile.per_box }} boxes"}
    dispatch = started_dispatch([d for d, _ in good + bad], content)

    sending.send_batch(dispatch.pk)

    assert [service.payloads(s)[0]["title"] for _, s in good] == ["5 boxes", "5 boxes"]
    failed = message(dispatch, bad[0][0])
    assert (failed.status, failed.code, failed.attempts) == ("failed", "render_failed", 0)
    assert service.payloads(bad[0][1]) == []


def test_a_batch_claims_at_most_its_size_and_says_there_may_be_more(service, key):
    audience = web_audience(service, 5)
    dispatch = started_dispatch([d for d, _ in audience], {"title": "Hello"})

    first = sending.send_batch(dispatch.pk, size=3)
    second = sending.send_batch(dispatch.pk, size=3)

    assert (first.claimed, first.more, second.claimed, second.more) == (3, True, 2, False)
    assert counts(dispatch)["sent"] == 5
    assert sum(len(service.payloads(s)) for _, s in audience) == 5


def test_a_claimed_row_is_never_claimed_again(service, key):
    audience = web_audience(service, 4)
    dispatch = started_dispatch([d for d, _ in audience], {"title": "Hello"})

    first = claim(dispatch.pk, 3, datetime.now(UTC))
    second = claim(dispatch.pk, 3, datetime.now(UTC))

    assert len(first) == 3 and len(second) == 1
    assert not set(first) & set(second)


def test_a_paused_dispatch_claims_nothing(service, key):
    audience = web_audience(service, 2)
    dispatch = started_dispatch([d for d, _ in audience], {"title": "Hello"})
    Dispatch.objects.filter(pk=dispatch.pk).update(status=Dispatch.Status.PAUSED)

    assert sending.send_batch(dispatch.pk) is None
    assert counts(dispatch)["queued"] == 2


@pytest.mark.parametrize(
    ("local_now", "action", "status", "until"),
    [
        # DND 21:00 to 09:00 in Paris (UTC+1 in March before the switch).
        (datetime(2026, 3, 10, 23, 30), "discard", "dropped", None),
        (datetime(2026, 3, 10, 23, 30), "delay", "held", datetime(2026, 3, 11, 9, 0)),
        (datetime(2026, 3, 11, 8, 59), "delay", "held", datetime(2026, 3, 11, 9, 0)),
        (datetime(2026, 3, 10, 21, 0), "delay", "held", datetime(2026, 3, 11, 9, 0)),
        (datetime(2026, 3, 11, 9, 0), "delay", "sent", None),
        (datetime(2026, 3, 10, 20, 59), "discard", "sent", None),
    ],
)
def test_dnd_hours_across_midnight_in_the_persons_time_zone(service, key, local_now, action, status, until):
    paris = ZoneInfo("Europe/Paris")
    [(device, subscriber)] = web_audience(service, 1, timezone="Europe/Paris")
    rules = {"timezone": "UTC", "dnd": {"start": "21:00", "end": "09:00", "action": action}}
    with time_machine.travel(local_now.replace(tzinfo=paris), tick=False):
        dispatch = started_dispatch([device], {"title": "Hello"}, rules=rules)
        sending.send_batch(dispatch.pk)

    row = message(dispatch, device)
    assert row.status == status
    if status == "dropped":
        assert row.code == "dnd_discarded"
    if until:
        assert (row.not_before, row.hold_reason, row.code) == (until.replace(tzinfo=paris), "dnd", "")
    assert len(service.payloads(subscriber)) == (1 if status == "sent" else 0)


def test_a_delayed_message_goes_when_the_dnd_hours_end(service, key):
    [(device, subscriber)] = web_audience(service, 1, timezone="UTC")
    rules = {"dnd": {"start": "22:00", "end": "07:00", "action": "delay"}}
    with time_machine.travel(datetime(2026, 3, 10, 23, 0, tzinfo=UTC), tick=False):
        dispatch = started_dispatch([device], {"title": "Hello"}, rules=rules)
        sending.send_batch(dispatch.pk)
    with time_machine.travel(datetime(2026, 3, 11, 6, 59, tzinfo=UTC), tick=False):
        assert sending.send_batch(dispatch.pk).claimed == 0
    with time_machine.travel(datetime(2026, 3, 11, 7, 0, tzinfo=UTC), tick=False):
        report = sending.send_batch(dispatch.pk)

    assert (report.claimed, report.sent) == (1, 1)
    assert message(dispatch, device).code == ""
    assert len(service.payloads(subscriber)) == 1


def test_after_the_cutoff_nothing_more_is_sent_and_a_delay_past_it_is_dropped(service, key):
    [(late, late_sub)] = web_audience(service, 1, timezone="UTC")
    [(in_dnd, _)] = web_audience(service, 1, timezone="UTC")
    with time_machine.travel(T0, tick=False):
        cut = started_dispatch([late], {"title": "Hello"}, rules={"cutoff": "2026-03-10T11:00:00+00:00"})
        delayed = started_dispatch(
            [in_dnd],
            {"title": "Hello"},
            rules={"cutoff": "2026-03-10T13:00:00+00:00", "dnd": {"start": "11:00", "end": "14:00", "action": "delay"}},
        )
        sending.send_batch(cut.pk)
        sending.send_batch(delayed.pk)

    assert (message(cut, late).status, message(cut, late).code) == ("dropped", "cutoff_passed")
    assert (message(delayed, in_dnd).status, message(delayed, in_dnd).code) == ("dropped", "cutoff_passed")
    assert service.payloads(late_sub) == []


def test_the_users_time_zone_holds_each_message_until_the_local_time(service, key):
    # 2026-03-10: New York is on daylight time since 8 March (UTC-4); Tokyo is UTC+9.
    [(tokyo, tokyo_sub)] = web_audience(service, 1, timezone="Asia/Tokyo")
    [(new_york, ny_sub)] = web_audience(service, 1, timezone="America/New_York")
    [(unknown, _)] = web_audience(service, 1, timezone="")
    rules = {"timezone": "Europe/London", "user_timezone_at": "09:00"}
    with time_machine.travel(datetime(2026, 3, 10, 6, 0, tzinfo=UTC), tick=False):
        dispatch = started_dispatch([tokyo, new_york, unknown], {"title": "Good morning"}, rules=rules)
        sending.send_batch(dispatch.pk)

    assert statuses(dispatch) == {tokyo.pk: "sent", new_york.pk: "held", unknown.pk: "held"}
    assert message(dispatch, new_york).not_before == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
    assert message(dispatch, unknown).not_before == datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # London, GMT
    assert len(service.payloads(tokyo_sub)) == 1
    with time_machine.travel(datetime(2026, 3, 10, 13, 0, tzinfo=UTC), tick=False):
        sending.send_batch(dispatch.pk)
    assert statuses(dispatch) == {tokyo.pk: "sent", new_york.pk: "sent", unknown.pk: "sent"}
    assert len(service.payloads(ny_sub)) == 1


def sent_earlier(device, when):
    """A message another dispatch sent to this device's profile at ``when``."""
    other = Dispatch.objects.create(channel="web_push", label="earlier", status=Dispatch.Status.DONE)
    Message.objects.create(dispatch=other, profile_id=device.profile_id, device=device, status="sent", sent_at=when)


@pytest.mark.parametrize(
    ("daily", "weekly", "earlier", "skip", "status"),
    [
        (1, None, [timedelta(hours=2)], False, "dropped"),
        (1, None, [timedelta(hours=25)], False, "sent"),
        (None, 2, [timedelta(days=1), timedelta(days=3)], False, "dropped"),
        (None, 2, [timedelta(days=1), timedelta(days=8)], False, "sent"),
        (1, None, [timedelta(hours=2)], True, "sent"),
    ],
)
def test_global_frequency_caps_unless_the_campaign_opts_out(service, key, daily, weekly, earlier, skip, status):
    DeliverySettings.objects.update_or_create(pk=1, defaults={"daily_cap": daily, "weekly_cap": weekly})
    [(device, _)] = web_audience(service, 1)
    with time_machine.travel(T0, tick=False):
        for ago in earlier:
            sent_earlier(device, T0 - ago)
        dispatch = started_dispatch([device], {"title": "Hello"}, rules={"skip_global_limits": skip})
        sending.send_batch(dispatch.pk)

    row = message(dispatch, device)
    assert row.status == status
    assert row.code == ("frequency_cap" if status == "dropped" else "")


def test_a_persons_two_devices_in_one_dispatch_are_one_message_for_the_cap(service, key):
    DeliverySettings.objects.update_or_create(pk=1, defaults={"daily_cap": 1})
    [(laptop, _)] = web_audience(service, 1)
    [(phone_browser, _)] = web_audience(service, 1)
    phone_browser.profile_id = laptop.profile_id
    phone_browser.save()
    with time_machine.travel(T0, tick=False):
        dispatch = started_dispatch([laptop, phone_browser], {"title": "Hello"})
        sending.send_batch(dispatch.pk, size=1)
        sending.send_batch(dispatch.pk, size=1)

    assert set(statuses(dispatch).values()) == {"sent"}


def test_the_throttle_holds_what_does_not_fit_until_the_next_interval(service, key):
    cache.clear()  # the interval's count lives in the cache (Redis outlives a test run)
    DeliverySettings.objects.update_or_create(pk=1, defaults={"throttle_per_15_min": 2})
    audience = web_audience(service, 5)
    with time_machine.travel(datetime(2026, 3, 10, 12, 7, tzinfo=UTC), tick=False):
        dispatch = started_dispatch([d for d, _ in audience], {"title": "Hello"})
        report = sending.send_batch(dispatch.pk)
    assert (report.sent, report.held, report.holds) == (2, 3, [datetime(2026, 3, 10, 12, 15, tzinfo=UTC)])
    assert set(Message.objects.filter(status="held").values_list("hold_reason", "code")) == {("throttle", "")}
    with time_machine.travel(datetime(2026, 3, 10, 12, 15, tzinfo=UTC), tick=False):
        report = sending.send_batch(dispatch.pk)
    assert (report.sent, report.held) == (2, 1)


def test_tests_ignore_caps_dnd_throttle_and_cutoff(service, key):
    DeliverySettings.objects.update_or_create(pk=1, defaults={"daily_cap": 0, "throttle_per_15_min": 1})
    audience = web_audience(service, 2)
    rules = {"dnd": {"start": "00:00", "end": "23:59", "action": "discard"}, "cutoff": "2020-01-01T00:00:00+00:00"}
    dispatch = started_dispatch([d for d, _ in audience], {"title": "Test"}, rules=rules, is_test=True)

    sending.send_batch(dispatch.pk)

    assert set(statuses(dispatch).values()) == {"sent"}


@pytest.mark.parametrize(
    ("browser", "tries"), [("chrome", 6), ("opera", 6), ("firefox", 3), ("safari", 3), ("kaios", 3)]
)
def test_a_push_service_that_keeps_failing_is_tried_as_often_as_the_browser_allows(service, key, browser, tries):
    [(device, subscriber)] = web_audience(service, 1, browser=browser)
    service.answer(subscriber, *([500] * 10))
    at = T0
    with time_machine.travel(at, tick=False):
        dispatch = started_dispatch([device], {"title": "Hello"})
    for _ in range(10):
        with time_machine.travel(at, tick=False):
            sending.send_batch(dispatch.pk)
        row = message(dispatch, device)
        if row.status != "held":
            break
        assert row.code == "server_issue"
        at = row.not_before

    assert (row.status, row.code, row.attempts) == ("failed", "server_issue", tries)
    assert service.requests == tries


def test_retries_back_off_and_honour_retry_after(service, key):
    [(device, subscriber)] = web_audience(service, 1)
    service.answer(subscriber, 500, 500)
    service.answer(subscriber, 429, retry_after=120)
    with time_machine.travel(T0, tick=False):
        dispatch = started_dispatch([device], {"title": "Hello"})
        sending.send_batch(dispatch.pk)
    waits, tried_at = [], T0
    for _ in range(4):
        row = message(dispatch, device)
        if row.status != "held":
            break
        waits.append((row.not_before - tried_at).total_seconds())
        tried_at = row.not_before
        with time_machine.travel(row.not_before, tick=False):
            sending.send_batch(dispatch.pk)

    assert waits == [10, 20, 120]
    assert (message(dispatch, device).status, message(dispatch, device).attempts) == ("sent", 4)
    assert len(service.payloads(subscriber)) == 1


@pytest.mark.parametrize(("status", "code"), [(404, "end_point_invalid"), (410, "browser_unsubscribed")])
def test_a_gone_subscription_fails_and_retires_the_device(service, key, status, code):
    [(gone, gone_sub)] = web_audience(service, 1)
    [(fine, _)] = web_audience(service, 1)
    service.answer(gone_sub, status)
    dispatch = started_dispatch([gone, fine], {"title": "Hello"})

    sending.send_batch(dispatch.pk)

    row = message(dispatch, gone)
    assert (row.status, row.code, row.attempts) == ("failed", code, 1)
    gone.refresh_from_db()
    fine.refresh_from_db()
    assert gone.retired_at is not None and fine.retired_at is None


def test_a_retired_device_is_dropped_as_unreachable(service, key):
    [(device, subscriber)] = web_audience(service, 1)
    dispatch = started_dispatch([device], {"title": "Hello"})
    device.retired_at = T0
    device.save()

    sending.send_batch(dispatch.pk)

    assert (message(dispatch, device).status, message(dispatch, device).code) == ("dropped", "unreachable")
    assert service.payloads(subscriber) == []


def test_a_payload_over_4096_bytes_encrypted_is_not_sent(service, key):
    [(device, _)] = web_audience(service, 1)
    dispatch = started_dispatch([device], {"title": "Hello", "body": "x" * 4000})

    sending.send_batch(dispatch.pk)

    assert (message(dispatch, device).status, message(dispatch, device).code) == ("failed", "payload_too_large")
    assert service.requests == 0


def test_without_a_vapid_key_web_push_fails_with_bad_auth(service, db):
    [(device, _)] = web_audience(service, 1)
    dispatch = started_dispatch([device], {"title": "Hello"})

    sending.send_batch(dispatch.pk)

    assert (message(dispatch, device).status, message(dispatch, device).code) == ("failed", "bad_auth")


@override_settings(PUSH_PROVIDERS="sandbox")
def test_in_the_sandbox_mode_web_push_flows_without_sending(service, key):
    audience = web_audience(service, 3)
    dispatch = started_dispatch([d for d, _ in audience], {"title": "Hello"})

    sending.send_batch(dispatch.pk)

    assert counts(dispatch)["sent"] == 3
    assert service.requests == 0


@override_settings(DELIVERY_CLAIM_LEASE=60)
def test_the_sweep_queues_again_what_outlived_its_claim(service, key):
    audience = web_audience(service, 3)
    with time_machine.travel(T0, tick=False):
        dispatch = started_dispatch([d for d, _ in audience], {"title": "Hello"})
        claim(dispatch.pk, 2, T0)  # a worker claims two, then dies
    with time_machine.travel(T0 + timedelta(seconds=59), tick=False):
        assert sending.sweep() == [dispatch.pk]  # the third row is still queued
        assert counts(dispatch)["sending"] == 2
    with time_machine.travel(T0 + timedelta(seconds=61), tick=False):
        assert sending.sweep() == [dispatch.pk]
        assert counts(dispatch)["queued"] == 3
        report = sending.send_batch(dispatch.pk)
    assert report.sent == 3
    with time_machine.travel(T0 + timedelta(seconds=100), tick=False):
        assert sending.sweep() == []
    dispatch.refresh_from_db()
    assert dispatch.status == Dispatch.Status.DONE
