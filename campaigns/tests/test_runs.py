"""Starting a run: the audience (segment, reachable devices of the channel), the safety
check, the control group, the target cap and run limit, variants (single, A/B, split,
per property), the dispatch's rules, and running twice."""

from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine

from accounts import roles
from campaigns.actions import dispatcher, runs
from campaigns.models import CampaignRun, ControlMember
from campaigns.tests.scheduled import audience, make_campaign
from delivery.models import Message
from segments.models import Device

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def owner(make_user):
    return make_user(roles.MARKETER, email="owner@example.com")


def started(campaign):
    """The run planned now for ``campaign``, started."""
    campaign.status = "scheduled"
    campaign.save()
    run = CampaignRun.objects.create(campaign=campaign, planned_at=NOW)
    return runs.do_start_run(run.pk)


def variants_sent(run, dispatch=None):
    """{variant key: profiles} of the run's dispatch."""
    rows = Message.objects.filter(dispatch=dispatch or run.dispatch).values_list("variant", "profile_id")
    return Counter(variant for variant, _ in set(rows))


def test_a_run_sends_to_every_reachable_device_of_the_segment_on_the_campaigns_channel(owner):
    web = audience(4, country="FR")
    audience(2, country="DE")
    android = audience(3, platform="android", country="FR")
    Device.objects.filter(profile=web[0]).update(push_status="blocked")
    campaign = make_campaign(
        owner, rules={"match": "all", "conditions": [{"kind": "geo", "field": "country", "values": ["FR"]}]}
    )

    run = started(campaign)

    assert run.status == "running"
    assert (run.qualified, run.targeted) == (3, 3)
    sent = set(Message.objects.filter(dispatch=run.dispatch).values_list("profile_id", flat=True))
    assert sent == {profile.pk for profile in web[1:]}
    assert run.dispatch.status == "sending"
    assert run.dispatch.contents == {"A": {"title": "Hello from A", "body": "It is spring"}}
    assert {profile.pk for profile in android}.isdisjoint(sent)


def test_a_mobile_run_reaches_only_the_chosen_platforms(owner):
    audience(2, platform="android")
    ios = audience(3, platform="ios")
    audience(4)
    campaign = make_campaign(owner, channel="mobile_push", platforms=["ios"])

    run = started(campaign)

    assert run.qualified == 3
    assert set(run.dispatch.messages.values_list("profile_id", flat=True)) == {p.pk for p in ios}


def test_starting_a_run_twice_sends_once(owner):
    audience(5)
    run = started(make_campaign(owner))
    again = runs.do_start_run(run.pk)
    assert again.dispatch_id == run.dispatch_id
    assert Message.objects.filter(dispatch__run__campaign=run.campaign).count() == 5


def test_the_safety_check_stops_the_run_before_anything_is_sent_and_emails_the_owner(
    owner, mailoutbox, django_capture_on_commit_callbacks
):
    audience(6)
    campaign = make_campaign(owner, safety_limit=5)

    with django_capture_on_commit_callbacks(execute=True):
        run = started(campaign)

    assert (run.status, run.qualified, run.dispatch) == ("stopped", 6, None)
    assert "6 people were reachable, more than the limit of 5" in run.skipped_reason
    assert not Message.objects.exists()
    [email] = mailoutbox
    assert email.to == ["owner@example.com"]
    assert "Spring sale" in email.subject
    assert "6 people were reachable, more than the safety limit of 5" in email.body
    assert f"/campaigns/{campaign.pk}/" in email.body
    campaign.refresh_from_db()
    assert campaign.status == "stopped"  # its only run was stopped


def test_the_safety_check_lets_a_run_at_its_limit_go(owner, mailoutbox):
    audience(5)
    run = started(make_campaign(owner, safety_limit=5))
    assert run.status == "running" and run.dispatch.messages.count() == 5
    assert mailoutbox == []


def test_the_control_group_is_held_out_reproducibly_and_gets_nothing(owner):
    audience(50)
    campaign = make_campaign(owner, control_group_percent=20)

    run = started(campaign)

    held_out = set(ControlMember.objects.filter(run=run).values_list("profile_id", flat=True))
    sent = set(run.dispatch.messages.values_list("profile_id", flat=True))
    assert (len(held_out), len(sent), run.targeted) == (10, 40, 40)
    assert held_out.isdisjoint(sent)
    # The same run draws the same people: a retried start holds out the same group.
    again = runs.Audience(campaign, NOW).draw(runs.Plan.make(campaign, run, 50), runs.draw_seed(run))
    qualified = runs.Audience(campaign, NOW).profiles.values_list("pk", flat=True)
    assert {pk for pk in qualified if again.span(pk).outcome == "control"} == held_out


@pytest.mark.parametrize(
    ("fields", "sent"),
    [
        ({"reach_mode": "cap", "target_cap": 7}, 7),
        ({"run_limit": 5}, 5),
        ({"reach_mode": "cap", "target_cap": 7, "run_limit": 5}, 5),
        ({"reach_mode": "cap", "target_cap": 40}, 30),
        ({"reach_mode": "cap", "target_cap": 20, "control_group_percent": 50}, 15),
    ],
)
def test_the_target_cap_and_run_limit_take_that_many_at_random(owner, fields, sent):
    audience(30)
    run = started(make_campaign(owner, **fields))
    assert run.qualified == 30
    assert run.targeted == sent
    assert run.dispatch.messages.values("profile_id").distinct().count() == sent


def test_a_capped_run_does_not_always_take_the_first_profiles(owner):
    profiles = audience(100)
    run = started(make_campaign(owner, reach_mode="cap", target_cap=10))
    chosen = set(run.dispatch.messages.values_list("profile_id", flat=True))
    assert chosen != {profile.pk for profile in profiles[:10]}


def test_an_ab_test_sends_the_variants_in_equal_numbers_to_the_test_population_and_keeps_the_rest(owner):
    audience(100)
    campaign = make_campaign(
        owner, message_type="ab", ab_mode="percent", ab_test_size=31, ab_test_minutes=240, variants=[{}, {}, {}]
    )

    run = started(campaign)

    # 31 % of 100 is 31 people; three variants get 10 each, the 31st joins the rest.
    assert variants_sent(run) == {"A": 10, "B": 10, "C": 10}
    assert variants_sent(run, run.remainder) == {"": 70}
    assert run.remainder.status == "open"  # waits for the winner
    assert run.ab_ends_at == NOW + timedelta(hours=4)
    tested = set(run.dispatch.messages.values_list("profile_id", flat=True))
    assert tested.isdisjoint(run.remainder.messages.values_list("profile_id", flat=True))


def test_an_ab_test_of_a_number_of_users(owner):
    audience(40)
    campaign = make_campaign(owner, message_type="ab", ab_mode="count", ab_test_size=10, variants=[{}, {}])
    run = started(campaign)
    assert variants_sent(run) == {"A": 5, "B": 5}
    assert run.remainder.messages.count() == 30


def test_too_few_users_for_an_ab_test_sends_the_variants_equally_to_everyone_and_says_so(owner):
    audience(9)
    campaign = make_campaign(owner, message_type="ab", ab_mode="count", ab_test_size=20, variants=[{}, {}])

    run = started(campaign)

    assert variants_sent(run) == {"A": 5, "B": 4}
    assert run.remainder is None and run.ab_ends_at is None
    assert run.note.startswith("Too few qualifying users for an A/B test")


def test_split_delivery_sends_each_variant_to_its_share(owner):
    audience(20)
    campaign = make_campaign(owner, message_type="ab", variants=[{"share": 70}, {"share": 30}])
    run = started(campaign)
    assert variants_sent(run) == {"A": 14, "B": 6}
    assert run.remainder is None


def test_one_message_per_property_value_with_the_fallback_for_the_others(owner):
    french = audience(3, language="fr")
    german = audience(2, language="de")
    custom = audience(2, language="fr", properties={"language": "de"})  # the custom property wins
    others = audience(2, language="es")
    campaign = make_campaign(
        owner,
        message_type="by_property",
        property_name="language",
        variants=[{"property_value": "FR"}, {"property_value": "de"}, {"is_fallback": True}],
    )

    run = started(campaign)

    got = dict(run.dispatch.messages.values_list("profile_id", "variant"))
    assert {got[p.pk] for p in french} == {"A"}
    assert {got[p.pk] for p in german + custom} == {"B"}
    assert {got[p.pk] for p in others} == {"C"}


def test_without_a_fallback_a_profile_with_another_value_gets_nothing(owner):
    audience(2, properties={"tier": "gold"})
    audience(3, properties={"tier": "silver"})
    campaign = make_campaign(
        owner, message_type="by_property", property_name="tier", variants=[{"property_value": "gold"}]
    )
    run = started(campaign)
    assert variants_sent(run) == {"A": 2}
    assert run.targeted == 2


def test_the_dispatch_carries_the_when_steps_rules(owner):
    audience(1)
    campaign = make_campaign(
        owner,
        timezone="Europe/Paris",
        dnd_enabled=True,
        dnd_start=time(21, 0),
        dnd_end=time(8, 30),
        dnd_action="discard",
        cutoff_time=time(18, 0),
        skip_global_limits=True,
    )
    run = started(campaign)
    assert run.dispatch.rules == {
        "timezone": "Europe/Paris",
        "skip_global_limits": True,
        "dnd": {"start": "21:00", "end": "08:30", "action": "discard"},
        "cutoff": "2026-05-04T16:00:00+00:00",  # 18:00 in Paris (CEST) on the run's day
    }


def test_a_cut_off_earlier_than_the_send_time_is_the_next_days(owner):
    campaign = make_campaign(owner, cutoff_time=time(6, 0))
    assert dispatcher.cutoff_for(campaign, NOW) == datetime(2026, 5, 5, 6, 0, tzinfo=UTC)


def test_a_run_with_nobody_qualifying_completes_at_once(owner):
    run = started(make_campaign(owner))
    assert (run.status, run.qualified, run.targeted, run.dispatch) == ("completed", 0, 0, None)
    run.campaign.refresh_from_db()
    assert run.campaign.status == "completed"
