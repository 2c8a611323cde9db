"""The dispatcher: every schedule kind fires at its planned times (one CampaignRun per
campaign and planned time), missed firings run or are skipped with their reason, repeated
ticks make one run, a paused campaign's firing waits, and runs and campaigns complete."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine

from accounts import roles
from campaigns.actions import dispatcher, lifecycle, runs
from campaigns.models import Campaign, CampaignRun
from campaigns.tests.scheduled import audience, make_campaign
from delivery.models import Dispatch

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def owner(make_user):
    return make_user(roles.MARKETER, email="owner@example.com")


def scheduled(owner, **fields):
    campaign = make_campaign(owner, **fields)
    lifecycle.do_schedule(campaign, user=owner)
    campaign.refresh_from_db()
    return campaign


def tick_at(clock, moment):
    clock.move_to(moment)
    return dispatcher.do_dispatch_due()


def planned_times(campaign):
    return sorted(campaign.runs.values_list("planned_at", flat=True))


def fire_every_planned_time(clock, campaign, until):
    """Tick at each next_run_at until ``until``; the runs' planned times."""
    while True:
        campaign.refresh_from_db()
        if campaign.next_run_at is None or campaign.next_run_at > until:
            return planned_times(campaign)
        before = campaign.runs.count()
        tick_at(clock, campaign.next_run_at - timedelta(seconds=1))
        assert campaign.runs.count() == before
        planned = campaign.next_run_at
        queued = tick_at(clock, planned)
        assert campaign.runs.get(planned_at=planned).pk in queued
        assert campaign.runs.count() == before + 1


def test_a_one_time_campaign_fires_once_at_its_time_and_then_has_no_next_firing(clock, owner):
    send_at = NOW + timedelta(hours=2)
    campaign = scheduled(owner, send_at=send_at)
    assert campaign.next_run_at == send_at

    assert tick_at(clock, send_at - timedelta(seconds=1)) == []
    [run_id] = tick_at(clock, send_at)
    assert tick_at(clock, send_at + timedelta(seconds=5)) == []

    run = CampaignRun.objects.get(pk=run_id)
    assert (run.campaign_id, run.planned_at, run.status) == (campaign.pk, send_at, "planned")
    campaign.refresh_from_db()
    assert campaign.next_run_at is None


def test_a_multi_date_campaign_fires_at_each_date_but_never_one_before_it_was_scheduled(clock, owner):
    dates = [NOW - timedelta(days=1), NOW + timedelta(days=1), NOW + timedelta(days=3, hours=5)]
    campaign = scheduled(owner, kind="multiple_dates", dates=[moment.isoformat() for moment in dates])

    assert fire_every_planned_time(clock, campaign, until=NOW + timedelta(days=30)) == dates[1:]


def test_a_daily_campaign_fires_every_day_at_its_local_time_between_start_and_end(clock, owner):
    campaign = scheduled(
        owner,
        kind="recurring",
        repeat="daily",
        send_time=time(9, 30),
        timezone="Europe/Paris",
        ends_at=datetime(2026, 1, 8, 23, 0, tzinfo=UTC),
    )
    assert fire_every_planned_time(clock, campaign, until=NOW + timedelta(days=30)) == [
        datetime(2026, 1, day, 8, 30, tzinfo=UTC) for day in (5, 6, 7, 8)
    ]


def test_a_weekly_campaign_keeps_its_new_york_wall_time_across_the_dst_change(clock, owner):
    clock.move_to(datetime(2026, 2, 20, tzinfo=UTC))
    campaign = scheduled(
        owner, kind="recurring", repeat="weekly", weekdays=[0], send_time=time(9, 0), timezone="America/New_York"
    )
    fired = fire_every_planned_time(clock, campaign, until=datetime(2026, 3, 20, tzinfo=UTC))
    # Clocks go forward on 8 March 2026: 09:00 EST is 14:00 UTC, 09:00 EDT is 13:00 UTC.
    assert fired == [
        datetime(2026, 2, 23, 14, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 14, 0, tzinfo=UTC),
        datetime(2026, 3, 9, 13, 0, tzinfo=UTC),
        datetime(2026, 3, 16, 13, 0, tzinfo=UTC),
    ]


def test_a_monthly_campaign_on_the_31st_fires_on_the_last_day_of_shorter_months(clock, owner):
    campaign = scheduled(owner, kind="recurring", repeat="monthly", month_day=31, send_time=time(10, 0))
    fired = fire_every_planned_time(clock, campaign, until=datetime(2026, 5, 1, tzinfo=UTC))
    assert fired == [
        datetime(2026, month, day, 10, 0, tzinfo=UTC) for month, day in ((1, 31), (2, 28), (3, 31), (4, 30))
    ]


def test_repeated_ticks_and_a_second_dispatcher_make_one_run(clock, owner):
    send_at = NOW + timedelta(minutes=1)
    campaign = scheduled(owner, send_at=send_at)
    first = tick_at(clock, send_at)
    assert tick_at(clock, send_at) == []
    # A second dispatcher that read the schedule row before the first advanced it.
    Campaign.objects.filter(pk=campaign.pk).update(next_run_at=send_at)
    assert dispatcher.do_dispatch_due() == []

    assert list(campaign.runs.values_list("pk", flat=True)) == first
    campaign.refresh_from_db()
    assert campaign.next_run_at is None


def test_a_firing_missed_while_everything_was_down_runs_when_the_dispatcher_comes_back(clock, owner):
    send_at = NOW + timedelta(hours=1)
    campaign = scheduled(owner, send_at=send_at)

    [run_id] = tick_at(clock, send_at + timedelta(hours=3))

    run = CampaignRun.objects.get(pk=run_id)
    assert (run.planned_at, run.status, run.skipped_reason) == (send_at, "planned", "")
    assert campaign.runs.count() == 1


def test_a_missed_firing_past_its_cut_off_is_skipped_with_the_reason_and_the_campaign_completes(clock, owner):
    send_at = NOW + timedelta(hours=1)  # 09:00 UTC
    campaign = scheduled(owner, send_at=send_at, cutoff_time=time(12, 0))

    assert tick_at(clock, datetime(2026, 1, 5, 12, 0, 1, tzinfo=UTC)) == []

    [run] = campaign.runs.all()
    assert run.status == "skipped"
    assert "cut-off (05 Jan 2026 12:00 UTC) had passed" in run.skipped_reason
    campaign.refresh_from_db()
    assert (campaign.status, campaign.next_run_at) == ("completed", None)


def test_a_missed_firing_past_the_campaigns_end_is_skipped_with_the_reason(clock, owner):
    campaign = scheduled(
        owner,
        kind="multiple_dates",
        dates=[(NOW + timedelta(hours=1)).isoformat()],
        ends_at=NOW + timedelta(hours=2),
    )
    assert tick_at(clock, NOW + timedelta(hours=5)) == []
    [run] = campaign.runs.all()
    assert run.status == "skipped"
    assert "the campaign ended 05 Jan 2026 10:00 UTC" in run.skipped_reason


def test_of_several_missed_daily_firings_only_the_latest_runs_and_the_others_say_why(clock, owner):
    campaign = scheduled(owner, kind="recurring", repeat="daily", send_time=time(9, 0))

    [run_id] = tick_at(clock, datetime(2026, 1, 8, 9, 30, tzinfo=UTC))

    by_time = {run.planned_at.day: run for run in campaign.runs.all()}
    assert sorted(by_time) == [5, 6, 7, 8]
    assert by_time[8].pk == run_id and by_time[8].status == "planned"
    for day in (5, 6, 7):
        assert by_time[day].status == "skipped"
        assert by_time[day].skipped_reason == dispatcher.SUPERSEDED
    campaign.refresh_from_db()
    assert campaign.next_run_at == datetime(2026, 1, 9, 9, 0, tzinfo=UTC)


def test_a_paused_campaigns_due_firing_waits_and_fires_once_when_it_is_resumed(clock, owner):
    send_at = NOW + timedelta(hours=1)
    campaign = scheduled(owner, send_at=send_at)
    lifecycle.do_pause(campaign)

    assert tick_at(clock, send_at + timedelta(minutes=10)) == []
    assert not campaign.runs.exists()

    lifecycle.do_resume(campaign)
    [run_id] = tick_at(clock, send_at + timedelta(minutes=11))
    tick_at(clock, send_at + timedelta(minutes=11, seconds=5))
    assert list(campaign.runs.values_list("pk", "planned_at")) == [(run_id, send_at)]


def test_a_run_created_before_a_pause_starts_only_after_the_resume(clock, owner):
    audience(3)
    send_at = NOW + timedelta(hours=1)
    campaign = scheduled(owner, send_at=send_at)
    [run_id] = tick_at(clock, send_at)
    lifecycle.do_pause(campaign)

    run = runs.do_start_run(run_id)
    assert (run.status, run.dispatch) == ("planned", None)
    assert tick_at(clock, send_at + timedelta(minutes=5)) == []  # the campaign is paused

    lifecycle.do_resume(campaign)
    assert tick_at(clock, send_at + timedelta(minutes=6)) == [run_id]  # waiting longer than RESTART_AFTER
    run = runs.do_start_run(run_id)
    assert run.status == "running"
    assert run.dispatch.messages.count() == 3


def test_stopping_or_unscheduling_clears_the_schedule_row(clock, owner):
    stopped = scheduled(owner, send_at=NOW + timedelta(hours=1))
    unscheduled = scheduled(owner, send_at=NOW + timedelta(hours=1))
    lifecycle.do_stop(stopped)
    lifecycle.do_unschedule(unscheduled)
    for campaign in (stopped, unscheduled):
        campaign.refresh_from_db()
        assert campaign.next_run_at is None
    assert tick_at(clock, NOW + timedelta(hours=2)) == []


def test_a_run_completes_when_its_dispatch_is_done_and_the_campaign_with_it_when_nothing_is_left(clock, owner):
    audience(2)
    campaign = scheduled(owner, kind="multiple_dates", dates=[(NOW + timedelta(hours=h)).isoformat() for h in (1, 2)])
    [first] = tick_at(clock, NOW + timedelta(hours=1))
    run = runs.do_start_run(first)
    campaign.refresh_from_db()
    assert campaign.status == "running"

    Dispatch.objects.filter(pk=run.dispatch_id).update(status="done")
    tick_at(clock, NOW + timedelta(hours=1, minutes=5))
    run.refresh_from_db()
    campaign.refresh_from_db()
    assert (run.status, campaign.status) == ("completed", "scheduled")  # waiting for its second date

    [second] = tick_at(clock, NOW + timedelta(hours=2))
    run = runs.do_start_run(second)
    Dispatch.objects.filter(pk=run.dispatch_id).update(status="done")
    tick_at(clock, NOW + timedelta(hours=2, minutes=5))
    campaign.refresh_from_db()
    assert (campaign.status, campaign.ended_at) == ("completed", NOW + timedelta(hours=2, minutes=5))
