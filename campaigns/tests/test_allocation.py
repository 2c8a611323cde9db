"""A scheduled run and a live send decide alike (``campaigns.allocation``, issue 16): the same
person gets the same message for their property value, and is read in the same time zone
when their own is not a valid one."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from campaigns import allocation
from campaigns.actions import dispatcher, runs
from campaigns.models import Campaign, CampaignRun, LiveTrigger
from campaigns.tests.live import EventsApi, live_campaign, person
from campaigns.tests.scheduled import make_campaign
from delivery.actions.limits import Rules
from delivery.models import Message

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
BY_TIER = {
    "message_type": Campaign.MessageType.BY_PROPERTY,
    "property_name": "tier",
    "variants": [
        {"name": "Gold", "property_value": "gold"},
        {"name": "Street", "property_value": "Straße"},
        {"name": "Others", "is_fallback": True},
    ],
}
TIERS = {"golden": " GOLD ", "street": "STRASSE", "plain": "silver"}
EXPECTED = {"golden": "Gold", "street": "Street", "plain": "Others"}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def api(client):
    return EventsApi(client)


def test_a_scheduled_run_and_a_live_send_give_a_person_the_same_message_for_their_value(api, admin_user):
    for identity, tier in TIERS.items():
        person(identity, properties={"tier": tier})

    scheduled = make_campaign(admin_user, status=Campaign.Status.SCHEDULED, **BY_TIER)
    run = runs.do_start_run(CampaignRun.objects.create(campaign=scheduled, planned_at=NOW).pk, now=NOW)
    by_run = dict(Message.objects.filter(dispatch=run.dispatch).values_list("profile__identity", "variant"))

    live = live_campaign(**BY_TIER)
    api.post([{"identity": identity, "name": "Added To Cart"} for identity in TIERS])
    by_live = dict(LiveTrigger.objects.filter(campaign=live).values_list("profile__identity", "variant"))

    assert by_run == by_live == EXPECTED


def test_the_what_step_calls_two_values_the_same_exactly_when_sends_do():
    assert allocation.normalise(" GOLD ") == allocation.normalise("gold")
    assert allocation.normalise("STRASSE") == allocation.normalise("Straße")
    assert allocation.normalise("silver") != allocation.normalise("gold")


def test_a_person_whose_time_zone_is_not_a_zone_is_read_in_the_campaigns_on_both_paths(api, admin_user):
    person("lost", timezone="Mars/Olympus")

    # A scheduled run's messages: DND hours and the user's time zone (delivery's rules).
    scheduled = make_campaign(admin_user, timezone="America/New_York")
    assert Rules.parse(dispatcher.rules_for(scheduled, NOW)).zone_for("Mars/Olympus") == NEW_YORK

    # A live campaign's messages, and the day of its date property: midnight in New York,
    # not UTC as it was.
    live = live_campaign(Campaign.Kind.DATE_PROPERTY, timezone="America/New_York")
    assert Rules.parse(allocation.rules_for(live)).zone_for("Mars/Olympus") == NEW_YORK
    api.post([{"identity": "lost", "name": "Booked", "properties": {"travel_date": "2026-06-10"}}])
    trigger = LiveTrigger.objects.get(campaign=live)
    assert trigger.due_at == datetime(2026, 6, 10, tzinfo=NEW_YORK)
