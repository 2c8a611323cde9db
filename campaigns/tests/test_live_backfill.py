"""Old events never trigger a live campaign (issue 14, item 10): a CSV or API backfill of last
month, or anything that happened before the campaign went live, is stored but sends nothing;
an event that arrives a little late still triggers, its window counted from when it happened."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from campaigns.live.sending import do_send_due
from campaigns.models import Campaign, LiveTrigger
from campaigns.tests.live import EventsApi, live_campaign, outcome, person, sent_to
from segments.models import Event

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LAST_MONTH = NOW - timedelta(days=30)
INACTION, DATE = Campaign.Kind.INACTION, Campaign.Kind.DATE_PROPERTY


@pytest.fixture
def api(client):
    return EventsApi(client)


@pytest.fixture
def clock():
    with time_machine.travel(NOW - timedelta(days=60), tick=False) as traveller:
        yield traveller


def published_then_backfilled(api, clock, kind, *, at, **properties):
    """A live campaign published two months ago; at NOW an app uploads an event of ``at``."""
    campaign = live_campaign(kind)
    person("ada")
    clock.move_to(NOW)
    name = "Booked" if kind == DATE else "Added To Cart"
    api.post([{"identity": "ada", "name": name, "occurred_at": at.isoformat(), "properties": properties}])
    return campaign


def test_a_backfill_of_last_month_triggers_no_single_action_send(api, clock):
    campaign = published_then_backfilled(api, clock, Campaign.Kind.SINGLE_ACTION, at=LAST_MONTH)

    assert Event.objects.filter(name="Added To Cart").count() == 1  # stored for segments and stats
    assert sent_to(campaign) == []
    assert outcome(campaign, "ada") == []


def test_a_backfilled_cart_of_last_month_opens_no_inaction_window(api, clock):
    campaign = published_then_backfilled(api, clock, INACTION, at=LAST_MONTH)
    clock.shift(timedelta(minutes=1))
    do_send_due()

    assert sent_to(campaign) == []
    assert not LiveTrigger.objects.filter(campaign=campaign).exists()


def test_a_backfilled_booking_of_last_month_plans_no_date_send_even_for_a_future_date(api, clock):
    travel = (NOW + timedelta(days=7)).date().isoformat()
    campaign = published_then_backfilled(api, clock, DATE, at=LAST_MONTH, travel_date=travel)
    clock.shift(timedelta(days=8))
    do_send_due()

    assert sent_to(campaign) == []
    assert not LiveTrigger.objects.filter(campaign=campaign).exists()


def test_an_event_from_before_the_campaign_went_live_triggers_nothing(api, clock):
    clock.move_to(NOW)
    campaign = live_campaign()
    person("ada")
    clock.shift(timedelta(minutes=5))
    api.track("ada", "Added To Cart", at=NOW - timedelta(minutes=1))

    assert sent_to(campaign) == []


def test_an_event_that_arrives_a_little_late_still_triggers_at_once(api, clock):
    campaign = published_then_backfilled(api, clock, Campaign.Kind.SINGLE_ACTION, at=NOW - timedelta(minutes=50))

    assert sent_to(campaign) == ["ada"]


def test_a_late_cart_window_counts_from_when_the_cart_was_filled(api, clock):
    campaign = published_then_backfilled(api, clock, INACTION, at=NOW - timedelta(minutes=4))

    assert LiveTrigger.objects.get(campaign=campaign).due_at == NOW + timedelta(minutes=6)
    clock.shift(timedelta(minutes=6))
    do_send_due()
    assert sent_to(campaign) == ["ada"]
