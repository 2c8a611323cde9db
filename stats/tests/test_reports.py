"""What the stats page reads from the roll-ups: totals, CTR, trend buckets, variants, control."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from stats import reports
from stats.actions.rollup import do_roll_up
from stats.models import ControlConversion, Conversion, RollUp
from stats.tests import factory as f

pytestmark = pytest.mark.django_db


def test_ctr_is_clicks_over_views_times_a_hundred():
    assert reports.Numbers(viewed=80, clicked=6, sent=200).ctr == pytest.approx(7.5)
    assert reports.Numbers(viewed=0, clicked=0).ctr is None


def test_totals_add_up_every_run_and_one_run_alone():
    campaign = f.campaign()
    first, second = f.run(campaign, qualified=10), f.run(campaign, started=f.T0 + timedelta(days=7), qualified=5)
    f.message(first, viewed_at=f.T0, clicked_at=f.T0)
    f.message(first, viewed_at=f.T0)
    f.message(second, sent_at=f.T0 + timedelta(days=7), viewed_at=f.T0 + timedelta(days=7))
    do_roll_up()
    every = reports.totals(campaign)
    assert (every.reachable, every.sent, every.viewed, every.clicked) == (15, 3, 3, 1)
    assert every.ctr == pytest.approx(100 / 3)
    alone = reports.totals(campaign, second)
    assert (alone.reachable, alone.sent, alone.clicked) == (5, 1, 0)


def test_the_trend_fills_gaps_and_groups_by_week_from_monday_and_by_month():
    campaign = f.campaign()
    run = f.run(campaign)
    for days in (0, 2, 9, 31):
        f.message(run, sent_at=f.T0 + timedelta(days=days))
    do_roll_up()
    by_day = reports.trend(campaign, period="day")
    assert len(by_day) == 32 and by_day[1].sent == 0 and by_day[2].sent == 1
    assert [(p.start, p.sent) for p in reports.trend(campaign, period="week")] == [
        (date(2026, 3, 2), 2),
        (date(2026, 3, 9), 1),
        (date(2026, 3, 16), 0),
        (date(2026, 3, 23), 0),
        (date(2026, 3, 30), 1),
    ]
    assert [(p.start, p.sent) for p in reports.trend(campaign, period="month")] == [
        (date(2026, 3, 1), 3),
        (date(2026, 4, 1), 1),
    ]


def test_variants_carry_their_own_numbers_and_the_runs_winner_is_marked():
    campaign = f.campaign(variants=("A", "B"))
    run = f.run(campaign, winner="B")
    f.message(run, variant="A", viewed_at=f.T0)
    f.message(run, variant="B", viewed_at=f.T0, clicked_at=f.T0)
    do_roll_up()
    found = {row.key: (row.winner, row.numbers.clicked, row.numbers.ctr) for row in reports.variants(campaign, run)}
    assert found == {"A": (False, 0, 0.0), "B": (True, 1, 100.0)}


def test_errors_carry_their_meaning_and_say_which_are_not_technical():
    campaign = f.campaign()
    run = f.run(campaign)
    f.message(run, status="failed", code="push_unreg")
    f.message(run, status="failed", code="push_unreg")
    f.message(run, status="dropped", code="dnd_discarded")
    do_roll_up()
    found = [(row.code, row.count, row.technical) for row in reports.errors(campaign)]
    assert found == [("push_unreg", 2, True), ("dnd_discarded", 1, False)]
    assert "uninstalled" in reports.errors(campaign)[0].meaning


def control_run(targeted, converted, held, held_converted):
    """A run whose roll-up says ``targeted`` profiles, ``converted`` of them converted, and a
    control group of ``held`` with ``held_converted`` conversions."""
    campaign = f.campaign()
    run = f.run(campaign)
    RollUp.objects.create(
        dispatch=run.dispatch, campaign=campaign, run=run, profiles=targeted, converted_profiles=converted
    )
    members = [f.control_member(run) for _ in range(held)]
    for member in members[:held_converted]:
        ControlConversion.objects.create(run=run, profile=member.profile, occurred_at=f.T0, revenue=Decimal(10))
    return campaign


def test_without_a_control_group_there_is_no_comparison():
    assert reports.control(f.campaign()) is None


def test_small_groups_get_a_too_few_to_say_note():
    comparison = reports.control(control_run(targeted=40, converted=8, held=10, held_converted=1))
    assert comparison.targeted.rate == pytest.approx(20.0)
    assert comparison.control.rate == pytest.approx(10.0)
    assert comparison.lift == pytest.approx(100.0)
    assert not comparison.confident
    assert comparison.note.startswith("Too few to say")


def test_a_large_clear_difference_is_significant_by_the_z_test():
    comparison = reports.control(control_run(targeted=2000, converted=300, held=200, held_converted=10))
    # 15 % against 5 %: z is about 3.9.
    assert comparison.z == pytest.approx(3.87, abs=0.05)
    assert comparison.confident
    assert comparison.note.startswith("The difference is significant")
    assert comparison.control.revenue == Decimal(100)


def test_a_small_difference_on_large_groups_is_called_possible_chance():
    comparison = reports.control(control_run(targeted=1000, converted=110, held=150, held_converted=15))
    assert not comparison.confident
    assert comparison.note.startswith("Not significant")


def test_the_control_comparison_counts_conversions_from_tracking_end_to_end():
    campaign = f.campaign(goal_event="Charged", goal_window_minutes=60)
    run = f.run(campaign)
    sent = f.message(run)
    f.control_member(run)
    Conversion.objects.create(
        message=sent, campaign=campaign, dispatch=run.dispatch, variant="A", occurred_at=f.T0 + timedelta(minutes=5)
    )
    do_roll_up()
    comparison = reports.control(campaign, run)
    assert (comparison.targeted.profiles, comparison.targeted.converted) == (1, 1)
    assert (comparison.control.profiles, comparison.control.converted) == (1, 0)
