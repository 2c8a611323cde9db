"""Live campaigns' reach limits: the daily limit (people per day), the total cap (the campaign
completes), the control group, and the frequency caps passed to the delivery engine."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from campaigns.live.sending import do_send_due, in_control_group
from campaigns.models import Campaign, CampaignRun, ControlMember, LiveTrigger
from campaigns.tests.live import EventsApi, live_campaign, outcome, person, sent_to
from delivery.actions.sending import send_batch
from delivery.models import DeliverySettings, Message

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def api(client):
    return EventsApi(client)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def cart(api, *identities):
    api.post([{"identity": identity, "name": "Added To Cart"} for identity in identities])


# The daily limit.


def test_the_daily_limit_counts_people_per_day_in_the_campaigns_time_zone(api, clock):
    # 12:00 UTC is 08:00 in New York; its day ends at 04:00 UTC.
    campaign = live_campaign(daily_limit=2, timezone="America/New_York")
    for identity in ("ada", "bob", "cy"):
        person(identity)

    cart(api, "ada", "bob", "cy")
    cart(api, "ada")  # already counted today: a second trigger of hers still goes
    assert sent_to(campaign) == ["ada", "bob", "ada"]
    assert outcome(campaign, "cy") == [("skipped", "The campaign's daily limit was reached.")]

    clock.move_to(datetime(2026, 6, 2, 3, 59, tzinfo=UTC))
    cart(api, "cy")
    assert outcome(campaign, "cy")[-1] == ("skipped", "The campaign's daily limit was reached.")

    clock.move_to(datetime(2026, 6, 2, 4, 0, tzinfo=UTC))  # a new day in New York
    cart(api, "cy")
    assert sent_to(campaign)[-1] == "cy"


# The total cap.


def test_the_total_cap_completes_the_campaign_and_later_events_send_nothing(api):
    campaign = live_campaign(Campaign.Kind.SINGLE_ACTION, target_cap=3)
    for identity in ("ada", "bob", "cy", "dan"):
        person(identity)

    cart(api, "ada", "bob")
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.RUNNING
    cart(api, "cy", "dan")

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert campaign.ended_at == NOW
    assert sent_to(campaign) == ["ada", "bob", "cy"]
    assert outcome(campaign, "dan") == [("skipped", "The campaign's total cap was reached.")]
    # What was queued before the cap still goes: the last run keeps sending.
    assert set(CampaignRun.objects.filter(campaign=campaign).values_list("status", flat=True)) == {"running"}

    cart(api, "dan")
    assert sent_to(campaign) == ["ada", "bob", "cy"]


def test_reaching_the_cap_closes_open_inaction_windows(api, clock):
    campaign = live_campaign(Campaign.Kind.INACTION, target_cap=1)
    person("ada")
    person("bob")
    api.track("ada", "Added To Cart")
    clock.shift(timedelta(minutes=5))
    api.track("bob", "Added To Cart")
    clock.shift(timedelta(minutes=5))

    do_send_due()  # ada's window ends first and takes the only place

    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED
    assert sent_to(campaign) == ["ada"]
    assert outcome(campaign, "bob") == [("skipped", "The campaign's total cap was reached.")]


# The control group.


def test_the_control_group_is_held_out_recorded_and_stays_held_out(api):
    campaign = live_campaign(control_group_percent=30)
    identities = [f"p{i}" for i in range(40)]
    people = {identity: person(identity) for identity in identities}

    cart(api, *identities)

    held = {identity for identity, p in people.items() if in_control_group(campaign, p.pk)}
    assert 0 < len(held) < 40
    run = CampaignRun.objects.get(campaign=campaign)
    assert set(ControlMember.objects.filter(run=run).values_list("profile__identity", flat=True)) == held
    assert set(sent_to(campaign)) == set(identities) - held
    assert (run.qualified, run.targeted) == (40, 40 - len(held))
    assert LiveTrigger.objects.filter(campaign=campaign, status="held_out").count() == len(held)

    cart(api, *sorted(held))  # the same people trigger again: still held out
    assert set(sent_to(campaign)) == set(identities) - held


def test_without_a_control_group_nobody_is_held_out(api):
    campaign = live_campaign(control_group_percent=0)
    identities = [f"p{i}" for i in range(20)]
    for identity in identities:
        person(identity)
    cart(api, *identities)
    assert sorted(sent_to(campaign)) == sorted(identities)
    assert not ControlMember.objects.exists()


# Frequency caps: the delivery engine applies them to the live dispatch.


def test_the_global_frequency_cap_applies_to_live_sends_unless_the_campaign_skips_it(api):
    DeliverySettings.objects.update_or_create(pk=1, defaults={"daily_cap": 1})
    capped = live_campaign()
    free = live_campaign(skip_global_limits=True, trigger_event="Viewed Product")
    person("ada")
    api.track("ada", "Added To Cart")
    Message.objects.filter(dispatch__run__campaign=capped).update(status="sent", sent_at=NOW)  # she got one today

    api.track("ada", "Added To Cart")
    api.track("ada", "Viewed Product")
    second = CampaignRun.objects.filter(campaign=capped).order_by("-planned_at").first()
    send_batch(second.dispatch_id)
    send_batch(CampaignRun.objects.get(campaign=free).dispatch_id)

    assert Message.objects.values_list("status", "code").get(dispatch=second.dispatch) == ("dropped", "frequency_cap")
    assert Message.objects.get(dispatch__run__campaign=free).status != "dropped"
