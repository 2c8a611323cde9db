"""Best time delivery (issue 17, item 4): a dispatch with ``best_time`` holds each message until
its person's most engaged local hour of the last 90 days, within 24 hours of its start; too
little history gets the fallback hour; the global caps still apply when a message is released;
the campaign page says why and until when; the forecast reads the spread of send hours."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from delivery import holds
from delivery.actions import besttime, sending
from delivery.models import DeliverySettings, Dispatch, Message
from delivery.tests.engine import started_dispatch, vapid_key, web_audience
from segments.models import Event, Profile
from tests.pushservices.webpush import WebPushService

pytestmark = pytest.mark.django_db

START = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)  # 10:00 in London (BST), 11:00 in Paris (CEST)
RULES = {"timezone": "Europe/London", "best_time": {"fallback_hour": 10}}


@pytest.fixture
def service():
    with WebPushService() as running:
        yield running


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def person(service, timezone, *moments):
    """One subscribed person in ``timezone`` with an event at each of ``moments`` (UTC)."""
    [(device, _)] = web_audience(service, 1, timezone=timezone)
    Event.objects.bulk_create(Event(profile_id=device.profile_id, name="page_view", occurred_at=m) for m in moments)
    return device


def at(day, hour, minute=15, month=6):
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def held(dispatch):
    rows = Message.objects.filter(dispatch=dispatch).values_list("device_id", "status", "hold_reason", "not_before")
    return {device: (status, reason, not_before) for device, status, reason, not_before in rows}


def test_people_with_different_habits_are_held_until_their_own_hour_in_their_own_zone(service, clock):
    # 07:15 in Paris, before the clocks went forward (CET, 06:15 UTC) and after (CEST, 05:15
    # UTC): one local hour, which a reading at today's offset would split across 07 and 08.
    paris_morning = person(service, "Europe/Paris", *[at(d, 6, month=3) for d in (15, 16, 17, 18)], at(2, 5), at(3, 5))
    # 20:30 in New York (EDT): 00:30 UTC the next day.
    new_york_evening = person(service, "America/New_York", *[at(d, 0, 30) for d in (2, 3, 4, 5, 6)])
    # Mostly 21:00 in Tokyo (12:00 UTC), sometimes 08:00 (23:00 UTC): the hour they do most.
    tokyo_evening = person(service, "Asia/Tokyo", *[at(d, 12) for d in (1, 2, 3, 4)], at(5, 23), at(6, 23))
    # No zone of their own, or one zoneinfo does not know: the campaign's (London), 18:00 BST.
    london_evening = person(service, "", *[at(d, 17) for d in (1, 2, 3, 4, 5)])
    unknown_zone = person(service, "Mars/Olympus_Mons", *[at(d, 17) for d in (1, 2, 3, 4, 5)])
    # 11:40 in Paris: their hour is under way when the dispatch starts, so it goes now.
    paris_now = person(service, "Europe/Paris", *[at(d, 9, 40) for d in (1, 2, 3, 4, 5)])

    dispatch = started_dispatch(
        [paris_morning, new_york_evening, tokyo_evening, london_evening, unknown_zone, paris_now],
        {"title": "Hi"},
        rules=RULES,
    )

    assert held(dispatch) == {
        paris_morning.pk: ("held", "best_time", datetime(2026, 6, 11, 5, 0, tzinfo=UTC)),  # 07:00 CEST tomorrow
        new_york_evening.pk: ("held", "best_time", datetime(2026, 6, 11, 0, 0, tzinfo=UTC)),  # 20:00 EDT today
        tokyo_evening.pk: ("held", "best_time", datetime(2026, 6, 10, 12, 0, tzinfo=UTC)),  # 21:00 JST today
        london_evening.pk: ("held", "best_time", datetime(2026, 6, 10, 17, 0, tzinfo=UTC)),  # 18:00 BST today
        unknown_zone.pk: ("held", "best_time", datetime(2026, 6, 10, 17, 0, tzinfo=UTC)),
        paris_now.pk: ("queued", "", None),
    }


def test_too_little_or_too_old_history_gets_the_fallback_hour_in_the_persons_zone(service, clock):
    four_events = person(service, "America/New_York", *[at(d, 0, 30) for d in (2, 3, 4, 5)])
    # Five evenings, but 100 days ago: outside the 90 days.
    long_ago = [START - timedelta(days=100, hours=h) for h in range(5)]
    old_history = person(service, "Asia/Tokyo", *long_ago)
    nothing = person(service, "")

    dispatch = started_dispatch([four_events, old_history, nothing], {"title": "Hi"}, rules=RULES)

    assert held(dispatch) == {
        four_events.pk: ("held", "best_time", datetime(2026, 6, 10, 14, 0, tzinfo=UTC)),  # 10:00 EDT
        old_history.pk: ("held", "best_time", datetime(2026, 6, 11, 1, 0, tzinfo=UTC)),  # 10:00 JST tomorrow
        nothing.pk: ("queued", "", None),  # 10:00 in London is under way: now
    }


def test_the_global_daily_cap_still_applies_when_a_best_time_message_is_released(service, clock):
    vapid_key()
    DeliverySettings.objects.update_or_create(pk=1, defaults={"daily_cap": 1})
    capped = person(service, "Asia/Tokyo", *[at(d, 12) for d in (1, 2, 3, 4, 5)])
    free = person(service, "Asia/Tokyo", *[at(d, 12) for d in (1, 2, 3, 4, 5)])
    earlier = Dispatch.objects.create(channel="web_push", label="earlier", status=Dispatch.Status.DONE)
    Message.objects.create(dispatch=earlier, profile_id=capped.profile_id, device=capped, status="sent", sent_at=START)

    dispatch = started_dispatch([capped, free], {"title": "Hi"}, rules=RULES)
    assert sending.send_batch(dispatch.pk).claimed == 0  # both wait for 21:00 in Tokyo

    clock.move_to(datetime(2026, 6, 10, 12, 0, tzinfo=UTC))
    sending.send_batch(dispatch.pk)
    outcome = dict(Message.objects.filter(dispatch=dispatch).values_list("device_id", "code"))
    statuses = dict(Message.objects.filter(dispatch=dispatch).values_list("device_id", "status"))
    assert (statuses[capped.pk], outcome[capped.pk]) == ("dropped", "frequency_cap")
    assert (statuses[free.pk], outcome[free.pk]) == ("sent", "")


def test_the_campaign_page_says_they_wait_for_their_best_time_and_until_when(service, clock):
    devices = [person(service, "Asia/Tokyo", *[at(d, 12) for d in (1, 2, 3, 4, 5)]) for _ in range(2)]
    devices.append(person(service, "America/New_York"))
    dispatch = started_dispatch(devices, {"title": "Hi"}, rules=RULES)

    [group] = holds.waiting([dispatch.pk], now=START)
    assert group.sentence == (
        "3 wait for each person's best time: their most active hour of the last 90 days in their own time"
        " zone, 10:00 for too little history (the first at 12:00, the last at 14:00)."
    )


def test_a_test_send_ignores_best_time(service, clock):
    device = person(service, "Asia/Tokyo", *[at(d, 12) for d in (1, 2, 3, 4, 5)])
    dispatch = started_dispatch([device], {"title": "Hi"}, rules=RULES, is_test=True)
    assert held(dispatch) == {device.pk: ("queued", "", None)}


def test_the_spread_counts_people_per_local_hour_and_per_send_time(service, clock):
    for _ in range(3):
        person(service, "Asia/Tokyo", *[at(d, 12) for d in (1, 2, 3, 4, 5)])
    person(service, "America/New_York", *[at(d, 0, 30) for d in (2, 3, 4, 5, 6)])
    person(service, "")

    found = besttime.spread(Profile.objects.all(), campaign_zone="Europe/London", fallback_hour=10)

    assert found.people == 5
    assert {hour: n for hour, n in enumerate(found.local_hours) if n} == {10: 1, 20: 1, 21: 3}
    assert found.sends == [
        (None, 1),  # 10:00 in London: now
        (datetime(2026, 6, 10, 12, 0, tzinfo=UTC), 3),
        (datetime(2026, 6, 11, 0, 0, tzinfo=UTC), 1),
    ]
    assert found.by_zone == {
        "America/New_York": [(datetime(2026, 6, 11, 0, 0, tzinfo=UTC), 1)],
        "Asia/Tokyo": [(datetime(2026, 6, 10, 12, 0, tzinfo=UTC), 3)],
        "Europe/London": [(None, 1)],
    }


@pytest.fixture
def zone_only_python_knows(tmp_path):
    """A zone name zoneinfo finds (a copy of Europe/Paris under a new name) that PostgreSQL's
    own tz database does not have: the two read different copies and can differ."""
    import shutil
    import zoneinfo

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite converts local hours in Python")
    (tmp_path / "Clarion").mkdir()
    shutil.copy("/usr/share/zoneinfo/Europe/Paris", tmp_path / "Clarion" / "Paris_Copy")
    # No clear_cache(): ZoneInfo instances compare by identity, and code holds cached ones.
    zoneinfo.reset_tzpath([str(tmp_path), *zoneinfo.TZPATH])
    yield "Clarion/Paris_Copy"
    zoneinfo.reset_tzpath()


def test_a_zone_postgresql_does_not_know_takes_the_campaigns_zone_instead_of_failing_the_run(
    service, clock, zone_only_python_knows
):
    # 18:00 BST in London is the campaign zone's hour; the person's own zone is unusable in SQL.
    unusable = person(service, zone_only_python_knows, *[at(d, 17) for d in (1, 2, 3, 4, 5)])
    paris = person(service, "Europe/Paris", *[at(d, 12) for d in (1, 2, 3, 4, 5)])  # 14:00 CEST

    dispatch = started_dispatch([unusable, paris], {"title": "Hi"}, rules=RULES)

    assert held(dispatch) == {
        unusable.pk: ("held", "best_time", datetime(2026, 6, 10, 17, 0, tzinfo=UTC)),
        paris.pk: ("held", "best_time", datetime(2026, 6, 10, 12, 0, tzinfo=UTC)),
    }
