"""Live "single action" campaigns: events through the JSON API and the web SDK, the trigger's
property filters, the segment's other conditions, once per trigger, paused and stopped
campaigns, and the run and dispatch each batch makes."""

from datetime import UTC, datetime

import pytest
import time_machine

from campaigns.actions import lifecycle
from campaigns.live.triggers import do_evaluate_events
from campaigns.models import Campaign, CampaignRun, LiveTrigger
from campaigns.tests.live import EventsApi, SdkBrowser, live_campaign, outcome, person, sent_to
from delivery.models import Dispatch, Message
from segments.models import Event

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OVER_20 = [{"name": "price", "op": "greater", "value": 20}]


@pytest.fixture
def api(client):
    return EventsApi(client)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def test_an_event_matching_the_trigger_and_its_filters_sends_to_that_person_at_once(api):
    campaign = live_campaign(trigger_filters=OVER_20)
    person("ada", devices=2)
    person("bob")

    api.track("ada", "Added To Cart", price=30)

    assert sent_to(campaign) == ["ada", "ada"]  # both of her browsers
    run = CampaignRun.objects.get(campaign=campaign)
    assert (run.status, run.planned_at, run.qualified, run.targeted) == ("running", NOW, 1, 1)
    assert run.dispatch.status == Dispatch.Status.SENDING
    assert run.dispatch.contents == {"A": {"title": "Hello from A", "body": "Your cart misses you"}}
    assert set(Message.objects.values_list("status", "variant")) == {("queued", "A")}
    assert outcome(campaign, "ada") == [("sent", "")]


@pytest.mark.parametrize(
    "properties",
    [{"price": 20}, {"price": "30"}, {}, {"colour": "red"}],
    ids=["not greater", "text, not a number", "no properties", "other property"],
)
def test_an_event_failing_the_trigger_filters_sends_nothing(api, properties):
    campaign = live_campaign(trigger_filters=OVER_20)
    person("ada")

    api.track("ada", "Added To Cart", **properties)

    assert sent_to(campaign) == []
    assert not CampaignRun.objects.filter(campaign=campaign).exists()


def test_another_event_name_triggers_nothing(api):
    campaign = live_campaign()
    person("ada")
    api.track("ada", "Viewed Product")
    assert sent_to(campaign) == []


def test_the_segments_other_conditions_are_checked_for_that_person(api):
    rules = {
        "match": "all",
        "conditions": [
            {"kind": "property", "name": "tier", "op": "equals", "value": "Gold"},
            {"kind": "event", "event": "Signed Up", "did": True},
        ],
    }
    campaign = live_campaign(rules=rules)
    person("gold", properties={"tier": "Gold"})
    person("silver", properties={"tier": "Silver"})
    person("new-gold", properties={"tier": "Gold"})
    for identity in ("gold", "silver"):
        api.track(identity, "Signed Up")

    for identity in ("gold", "silver", "new-gold"):
        api.track(identity, "Added To Cart")

    assert sent_to(campaign) == ["gold"]


def test_a_live_condition_in_the_segment_is_matched_against_the_incoming_event(api):
    rules = {
        "match": "all",
        "conditions": [
            {"kind": "live_event", "event": "Added To Cart", "filters": [{"name": "sku", "op": "equals", "value": "X"}]}
        ],
    }
    campaign = live_campaign(rules=rules)
    person("ada")
    person("bob")
    api.track("ada", "Added To Cart", sku="X")
    api.track("bob", "Added To Cart", sku="Y")
    assert sent_to(campaign) == ["ada"]


def test_a_segment_whose_rules_do_not_parse_lets_nobody_through(api):
    campaign = live_campaign(rules={"match": "all", "conditions": [{"kind": "no such kind"}]})
    person("ada")
    api.track("ada", "Added To Cart")
    assert sent_to(campaign) == []


def test_a_person_without_a_reachable_device_is_skipped_with_the_reason(api):
    campaign = live_campaign()
    api.track("stranger", "Added To Cart")  # the API creates the profile; it has no device
    assert sent_to(campaign) == []
    assert outcome(campaign, "stranger") == [("skipped", "No device this channel can reach.")]


def test_a_person_gets_the_campaign_once_per_trigger_event_even_when_evaluated_twice(api):
    campaign = live_campaign()
    person("ada")
    api.track("ada", "Added To Cart")
    event_ids = list(Event.objects.values_list("pk", flat=True))

    do_evaluate_events(event_ids)  # the task delivered again (acks_late after a lost worker)
    assert sent_to(campaign) == ["ada"]

    api.track("ada", "Added To Cart")  # a second trigger event is a second send
    assert sent_to(campaign) == ["ada", "ada"]
    assert LiveTrigger.objects.filter(campaign=campaign).count() == 2


def test_one_batch_of_events_makes_one_run_and_one_dispatch(api):
    campaign = live_campaign()
    for identity in ("ada", "bob", "cy"):
        person(identity)

    api.post([{"identity": identity, "name": "Added To Cart"} for identity in ("ada", "bob", "cy")])

    run = CampaignRun.objects.get(campaign=campaign)
    assert sorted(sent_to(campaign)) == ["ada", "bob", "cy"]
    assert Message.objects.filter(dispatch=run.dispatch).count() == 3
    assert run.note == "Live: 3 people targeted, 0 held out."


def test_two_batches_in_the_same_instant_get_two_runs(api):
    campaign = live_campaign()
    person("ada")
    person("bob")
    api.track("ada", "Added To Cart")
    api.track("bob", "Added To Cart")  # the clock stands still: same planned time asked for
    runs = list(CampaignRun.objects.filter(campaign=campaign).order_by("planned_at"))
    assert len(runs) == 2
    assert runs[0].planned_at == NOW < runs[1].planned_at
    assert runs[0].dispatch_id != runs[1].dispatch_id


def test_a_paused_campaign_sends_nothing_and_sends_again_once_resumed(api):
    campaign = live_campaign()
    person("ada")
    lifecycle.do_pause(campaign)

    api.track("ada", "Added To Cart")
    assert sent_to(campaign) == []
    assert not LiveTrigger.objects.filter(campaign=campaign).exists()

    lifecycle.do_resume(campaign)
    api.track("ada", "Added To Cart")
    assert sent_to(campaign) == ["ada"]


def test_a_stopped_campaign_sends_nothing(api):
    campaign = live_campaign()
    person("ada")
    lifecycle.do_stop(campaign)
    api.track("ada", "Added To Cart")
    assert sent_to(campaign) == []


def test_pause_and_stop_reach_the_dispatch_of_every_live_run(api):
    campaign = live_campaign(dnd_enabled=True, dnd_start="11:00", dnd_end="13:00")  # NOW is 12:00: held
    person("ada")
    person("bob")
    api.track("ada", "Added To Cart")
    api.track("bob", "Added To Cart")
    dispatches = Dispatch.objects.filter(run__campaign=campaign)
    assert dispatches.count() == 2
    assert all(d.rules["dnd"] == {"start": "11:00", "end": "13:00", "action": "delay"} for d in dispatches)

    lifecycle.do_pause(campaign)
    assert set(dispatches.values_list("status", flat=True)) == {"paused"}
    lifecycle.do_resume(campaign)
    assert set(dispatches.values_list("status", flat=True)) == {"sending"}
    lifecycle.do_stop(campaign)
    assert set(dispatches.values_list("status", flat=True)) == {"stopped"}
    assert set(Message.objects.values_list("status", "code")) == {("dropped", "stopped")}


def test_a_campaign_outside_its_start_and_end_sends_nothing(api):
    early = live_campaign(starts_at=datetime(2026, 6, 2, tzinfo=UTC))
    person("ada")
    api.track("ada", "Added To Cart")
    assert sent_to(early) == []
    Campaign.objects.filter(pk=early.pk).update(starts_at=None, ends_at=datetime(2026, 6, 1, 11, tzinfo=UTC))
    api.track("ada", "Added To Cart")
    assert sent_to(early) == []


def test_an_exit_intent_campaign_is_not_pushed(api):
    campaign = live_campaign(channel=Campaign.Channel.EXIT_INTENT, exit_trigger={"type": "single_action"})
    person("ada")
    api.track("ada", "Added To Cart")
    assert not LiveTrigger.objects.filter(campaign=campaign).exists()


# Through the web SDK's endpoint.


def test_an_event_tracked_by_the_web_sdk_triggers_the_campaign(client):
    campaign = live_campaign(trigger_filters=OVER_20)
    browser = SdkBrowser(client, "ada")
    browser.track("Added To Cart", price=25)
    browser.track("Added To Cart", price=5)
    assert sent_to(campaign) == ["ada"]
