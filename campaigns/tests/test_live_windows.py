"""Live campaigns that wait: "inaction within time" windows (event A, then no event B within
T) and sends at an offset from a date in the trigger event's property, sent by the beat
task ``do_send_due`` ("check inaction windows")."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from campaigns.actions import lifecycle
from campaigns.live.sending import do_send_due
from campaigns.models import Campaign, CampaignRun, LiveTrigger
from campaigns.tests.live import EventsApi, SdkBrowser, live_campaign, outcome, person, sent_to

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
INACTION = Campaign.Kind.INACTION
DATE = Campaign.Kind.DATE_PROPERTY


@pytest.fixture
def api(client):
    return EventsApi(client)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# Inaction within time: Added To Cart, then no Charged within 10 minutes.


def test_the_inaction_event_inside_the_window_cancels_the_send(api, clock):
    campaign = live_campaign(INACTION)
    person("ada")
    api.track("ada", "Added To Cart")
    clock.shift(timedelta(minutes=9))
    api.track("ada", "Charged")
    assert outcome(campaign, "ada") == [("cancelled", "Charged came within the window.")]

    clock.shift(timedelta(minutes=5))
    do_send_due()
    assert sent_to(campaign) == []


def test_without_the_inaction_event_it_is_sent_once_when_the_window_ends_however_often_the_task_runs(api, clock):
    campaign = live_campaign(INACTION)
    person("ada")
    api.track("ada", "Added To Cart")
    assert LiveTrigger.objects.get(campaign=campaign).due_at == NOW + timedelta(minutes=10)

    clock.shift(timedelta(minutes=9, seconds=59))
    do_send_due()
    assert sent_to(campaign) == []

    clock.shift(timedelta(seconds=1))
    do_send_due()
    do_send_due()
    assert sent_to(campaign) == ["ada"]
    assert outcome(campaign, "ada") == [("sent", "")]
    assert CampaignRun.objects.filter(campaign=campaign).count() == 1


def test_the_inaction_event_after_the_window_does_not_cancel_it(api, clock):
    campaign = live_campaign(INACTION)
    person("ada")
    api.track("ada", "Added To Cart")
    clock.shift(timedelta(minutes=11))
    api.track("ada", "Charged")  # the beat task has not run yet: late, but after the window
    do_send_due()
    do_send_due()
    assert sent_to(campaign) == ["ada"]


def test_an_inaction_event_that_came_in_the_same_batch_is_found_when_the_window_ends(api, clock):
    campaign = live_campaign(INACTION)
    person("ada")
    api.post(
        [
            {"identity": "ada", "name": "Added To Cart", "occurred_at": NOW.isoformat()},
            {"identity": "ada", "name": "Charged", "occurred_at": (NOW + timedelta(minutes=2)).isoformat()},
        ]
    )
    clock.shift(timedelta(minutes=10))
    do_send_due()
    assert sent_to(campaign) == []
    assert outcome(campaign, "ada") == [("cancelled", "Charged came within the window.")]


def test_the_inaction_event_of_someone_else_does_not_cancel_a_window(api, clock):
    campaign = live_campaign(INACTION)
    person("ada")
    person("bob")
    api.track("ada", "Added To Cart")
    api.track("bob", "Charged")
    clock.shift(timedelta(minutes=10))
    do_send_due()
    assert sent_to(campaign) == ["ada"]


def test_a_second_trigger_while_a_window_is_open_opens_no_second_window(api, clock):
    campaign = live_campaign(INACTION)
    person("ada")
    api.track("ada", "Added To Cart")
    clock.shift(timedelta(minutes=3))
    api.track("ada", "Added To Cart")
    clock.shift(timedelta(minutes=20))
    do_send_due()
    assert sent_to(campaign) == ["ada"]
    assert outcome(campaign, "ada") == [("sent", ""), ("skipped", "A window for this person was already open.")]


def test_a_due_window_of_a_paused_campaign_waits_and_is_sent_after_resuming(api, clock):
    campaign = live_campaign(INACTION)
    person("ada")
    api.track("ada", "Added To Cart")
    lifecycle.do_pause(campaign)
    clock.shift(timedelta(minutes=15))
    do_send_due()
    assert sent_to(campaign) == []

    lifecycle.do_resume(campaign)
    do_send_due()
    assert sent_to(campaign) == ["ada"]


def test_a_due_window_of_a_stopped_campaign_is_skipped_with_the_reason(api, clock):
    campaign = live_campaign(INACTION)
    person("ada")
    api.track("ada", "Added To Cart")
    lifecycle.do_stop(campaign)
    clock.shift(timedelta(minutes=15))
    do_send_due()
    assert sent_to(campaign) == []
    assert outcome(campaign, "ada") == [("skipped", "The campaign was stopped before this was due.")]


def test_an_inaction_window_through_the_web_sdk(client, clock):
    campaign = live_campaign(INACTION)
    ada, bob = SdkBrowser(client, "ada"), SdkBrowser(client, "bob")
    ada.track("Added To Cart")
    bob.track("Added To Cart")
    clock.shift(timedelta(minutes=4))
    bob.track("Charged")
    clock.shift(timedelta(minutes=6))
    do_send_due()
    assert sent_to(campaign) == ["ada"]


# On a date property: Booked with a travel_date; sent at that date plus the offset.


@pytest.mark.parametrize(
    ("travel_date", "offset", "due"),
    [
        # A date is midnight on the person's wall clock (Europe/Paris, UTC+2 in June).
        ("2026-06-10", -24 * 60, datetime(2026, 6, 8, 22, 0, tzinfo=UTC)),
        ("2026-06-10T15:00:00+02:00", 60, datetime(2026, 6, 10, 14, 0, tzinfo=UTC)),
        ("2026-06-10T15:00:00", -30, datetime(2026, 6, 10, 12, 30, tzinfo=UTC)),
        ("2026-06-01T12:30:00Z", 0, datetime(2026, 6, 1, 12, 30, tzinfo=UTC)),
    ],
    ids=["a day before a date", "an hour after a time with an offset", "before a local time", "at the time"],
)
def test_a_date_property_send_goes_at_the_date_plus_the_offset(api, clock, travel_date, offset, due):
    campaign = live_campaign(DATE, date_offset_minutes=offset)
    person("ada", timezone="Europe/Paris")
    api.track("ada", "Booked", travel_date=travel_date)
    assert LiveTrigger.objects.get(campaign=campaign).due_at == due

    clock.move_to(due - timedelta(seconds=1))
    do_send_due()
    assert sent_to(campaign) == []
    clock.move_to(due)
    do_send_due()
    do_send_due()
    assert sent_to(campaign) == ["ada"]


def test_a_date_property_without_a_time_zone_of_the_person_uses_the_campaigns(api, clock):
    campaign = live_campaign(DATE, timezone="America/New_York")
    person("ada")
    api.track("ada", "Booked", travel_date="2026-06-10")
    assert LiveTrigger.objects.get(campaign=campaign).due_at == datetime(2026, 6, 10, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({"travel_date": "2026-05-31"}, "Its travel_date plus the offset had already passed when the event arrived."),
        (
            {"travel_date": "2026-06-01T11:59:00Z"},
            "Its travel_date plus the offset had already passed when the event arrived.",
        ),
        ({"travel_date": "next tuesday"}, "Its travel_date is missing or not a date."),
        ({}, "Its travel_date is missing or not a date."),
    ],
    ids=["a past date", "a past time", "not a date", "missing"],
)
def test_a_date_in_the_past_or_no_date_is_skipped_with_the_reason(api, clock, properties, reason):
    campaign = live_campaign(DATE)
    person("ada")
    api.track("ada", "Booked", **properties)
    clock.shift(timedelta(days=30))
    do_send_due()
    assert sent_to(campaign) == []
    assert outcome(campaign, "ada") == [("skipped", reason)]


def test_an_offset_before_a_date_that_has_already_come_is_skipped(api):
    campaign = live_campaign(DATE, date_offset_minutes=-24 * 60)
    person("ada")
    api.track("ada", "Booked", travel_date="2026-06-01T18:00:00Z")  # the day before was yesterday
    assert outcome(campaign, "ada")[0][0] == "skipped"


def test_a_live_campaign_completes_when_its_end_passes(api, clock):
    campaign = live_campaign(DATE, ends_at=NOW + timedelta(hours=1))
    person("ada")
    api.track("ada", "Booked", travel_date="2026-06-01T12:30:00Z")
    api.track("ada", "Booked", travel_date="2026-06-01T13:30:00Z")
    clock.shift(timedelta(hours=2))
    do_send_due()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert sent_to(campaign) == ["ada"]
    assert [status for status, _ in outcome(campaign, "ada")] == ["sent", "skipped"]


# Two workers at once.


@pytest.mark.django_db(transaction=True)
def test_two_beat_tasks_at_once_send_a_due_window_once(client, clock):
    campaign = live_campaign(INACTION)
    people = [person(f"p{i}") for i in range(20)]
    EventsApi(client).post([{"identity": p.identity, "name": "Added To Cart"} for p in people])
    clock.shift(timedelta(minutes=10))
    start = threading.Barrier(2)
    errors = []

    def beat():
        try:
            start.wait()
            do_send_due()
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(sent_to(campaign)) == sorted(p.identity for p in people)
