"""A/B winners of past-behaviour campaigns: after the test period the variant with the most
clicks (ties to the earliest) goes to the rest kept at run start, and the run completes
after that."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts import roles
from campaigns.actions import ab, dispatcher, lifecycle, runs
from campaigns.models import CampaignRun
from campaigns.tests.scheduled import audience, make_campaign
from delivery.models import Dispatch, Message
from segments.models import Profile

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def owner(make_user):
    return make_user(roles.MARKETER)


@pytest.fixture
def ab_run(clock, owner):
    """A started A/B run: 60 people, a test of 20 (10 per variant, 4 hours), 40 kept."""
    audience(60)
    campaign = make_campaign(
        owner, message_type="ab", ab_mode="count", ab_test_size=20, ab_test_minutes=240, variants=[{}, {}]
    )
    campaign.status = "scheduled"
    campaign.save()
    run = CampaignRun.objects.create(campaign=campaign, planned_at=NOW)
    return runs.do_start_run(run.pk)


def click(run, variant, count):
    ids = run.dispatch.messages.filter(variant=variant).values_list("pk", flat=True)[:count]
    Message.objects.filter(pk__in=list(ids)).update(status="sent", clicked_at=NOW + timedelta(hours=1))


def test_the_variant_with_the_most_clicks_wins_after_the_test_period_and_goes_to_the_rest(clock, ab_run):
    click(ab_run, "A", 2)
    click(ab_run, "B", 3)
    kept = set(ab_run.remainder.messages.values_list("profile_id", flat=True))
    Profile.objects.filter(pk__in=kept).update(name="changed")  # the segment changing does not matter

    clock.move_to(NOW + timedelta(hours=3, minutes=59))
    assert ab.do_finish_ab_tests() == []
    clock.move_to(NOW + timedelta(hours=4))
    [run] = ab.do_finish_ab_tests()

    assert (run.winner, run.winner_picked_at) == ("B", NOW + timedelta(hours=4))
    assert "A: 2, B: 3" in run.note
    remainder = Dispatch.objects.get(pk=run.remainder_id)
    assert remainder.status == "sending"
    assert set(remainder.messages.values_list("variant", flat=True)) == {"B"}
    assert set(remainder.messages.values_list("profile_id", flat=True)) == kept
    assert len(kept) == 40
    assert ab.do_finish_ab_tests() == []  # picked once


def test_a_tie_goes_to_the_earliest_variant(clock, ab_run):
    click(ab_run, "A", 1)
    click(ab_run, "B", 1)
    clock.move_to(NOW + timedelta(hours=5))
    [run] = ab.do_finish_ab_tests()
    assert run.winner == "A"


def test_no_clicks_at_all_is_a_tie_too(clock, ab_run):
    clock.move_to(NOW + timedelta(hours=5))
    [run] = ab.do_finish_ab_tests()
    assert run.winner == "A"


def test_a_paused_campaigns_test_waits_for_the_resume(clock, ab_run):
    click(ab_run, "B", 1)
    lifecycle.do_pause(ab_run.campaign)
    clock.move_to(NOW + timedelta(hours=5))
    assert ab.do_finish_ab_tests() == []

    lifecycle.do_resume(ab_run.campaign)
    [run] = ab.do_finish_ab_tests()
    assert run.winner == "B"
    assert run.remainder.status == "sending"


def test_stopping_the_campaign_drops_the_rest_kept_for_the_winner(clock, ab_run):
    lifecycle.do_stop(ab_run.campaign)
    remainder = Dispatch.objects.get(pk=ab_run.remainder_id)
    assert remainder.status == "stopped"
    assert set(remainder.messages.values_list("status", "code")) == {("dropped", "stopped")}
    clock.move_to(NOW + timedelta(hours=5))
    assert ab.do_finish_ab_tests() == []


def test_an_ab_run_completes_only_once_the_winner_has_gone_to_the_rest(clock, ab_run):
    Dispatch.objects.filter(pk=ab_run.dispatch_id).update(status="done")
    clock.move_to(NOW + timedelta(hours=1))
    dispatcher.do_complete_finished_runs()
    ab_run.refresh_from_db()
    assert ab_run.status == "running"

    clock.move_to(NOW + timedelta(hours=4))
    ab.do_finish_ab_tests()
    Dispatch.objects.filter(pk=ab_run.remainder_id).update(status="done")
    dispatcher.do_complete_finished_runs()
    ab_run.refresh_from_db()
    ab_run.campaign.refresh_from_db()
    assert (ab_run.status, ab_run.campaign.status) == ("completed", "completed")


def test_pick_winner_counts_clicks_and_breaks_ties_by_order():
    assert ab.pick_winner(["A", "B", "C"], {"B": 4, "C": 4}) == "B"
    assert ab.pick_winner(["A", "B", "C"], {"C": 1}) == "C"
    assert ab.pick_winner(["A", "B"], {}) == "A"


def test_the_campaign_pages_run_history_says_which_variant_won(clock, ab_run, marketer):
    click(ab_run, "B", 2)
    clock.move_to(NOW + timedelta(hours=5))
    ab.do_finish_ab_tests()
    page = marketer.get(f"/campaigns/{ab_run.campaign_id}/")
    assert "Variant B won the A/B test with the most clicks (A: 0, B: 2)" in page.content.decode()
