"""Roll-ups per campaign, run, variant and day: each counter, errors, and running twice."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from delivery.models import Dispatch, Message
from stats.actions.events import do_track_events
from stats.actions.rollup import do_roll_up
from stats.actions.tracking import do_record_engagement
from stats.models import DailyStat, ErrorStat, RollUp
from stats.tasks import roll_up
from stats.tests import factory as f

pytestmark = pytest.mark.django_db

DAY1, DAY2 = f.T0.date(), f.T0.date() + timedelta(days=1)


@pytest.fixture
def run():
    campaign = f.campaign(variants=("A", "B"), goal_event="Charged", goal_window_minutes=3 * 24 * 60)
    campaign.revenue_property = "amount"
    campaign.save()
    found = f.run(campaign)
    # A: three delivered (one viewed and clicked the next day, one only viewed), one refused by
    # the push service; B: one delivered, one dropped by the frequency cap, one that failed to render.
    a1 = f.message(found, viewed_at=f.T0 + timedelta(minutes=1), clicked_at=f.T0 + timedelta(days=1))
    f.message(found, viewed_at=f.T0 + timedelta(minutes=2))
    f.message(found)
    failed = f.message(found, status=Message.Status.FAILED, code="browser_unsubscribed")
    f.message(found, variant="B")
    dropped = f.message(found, variant="B", status=Message.Status.DROPPED, code="frequency_cap")
    unrendered = f.message(found, variant="B", status=Message.Status.FAILED, code="render_failed", attempts=0)
    f.message(found, variant="B", status=Message.Status.QUEUED)  # still waiting: counted nowhere yet
    Message.objects.filter(pk__in=[failed.pk, dropped.pk, unrendered.pk]).update(updated_at=f.T0)
    found.a1 = a1
    return found


def rows():
    return {
        (row.variant, row.day): (row.sent, row.delivered, row.failed, row.dropped, row.viewed, row.clicked)
        for row in DailyStat.objects.all()
    }


def test_each_counter_is_rolled_up_per_variant_and_on_the_day_it_happened(run):
    assert do_roll_up() == 1
    assert rows() == {
        # sent, delivered, failed, dropped, viewed, clicked
        ("A", DAY1): (4, 3, 1, 0, 2, 0),
        ("A", DAY2): (0, 0, 0, 0, 0, 1),
        ("B", DAY1): (1, 1, 1, 1, 0, 0),  # a render failure never reached a push service: not sent
    }
    stat = DailyStat.objects.first()
    assert (stat.campaign_id, stat.run_id, stat.dispatch_id) == (run.campaign_id, run.pk, run.dispatch_id)


def test_errors_are_rolled_up_per_code(run):
    do_roll_up()
    found = {(e.variant, e.status, e.code): e.count for e in ErrorStat.objects.all()}
    assert found == {
        ("A", "failed", "browser_unsubscribed"): 1,
        ("B", "dropped", "frequency_cap"): 1,
        ("B", "failed", "render_failed"): 1,
    }


def test_conversions_and_revenue_are_rolled_up_on_the_day_of_the_goal_event(run):
    event = f.event(run.a1.profile, "Charged", f.T0 + timedelta(days=1, hours=1), amount=25.5)
    do_track_events([event.pk])
    do_roll_up()
    stat = DailyStat.objects.get(variant="A", day=DAY2)
    assert (stat.conversions, stat.revenue) == (1, Decimal("25.50"))
    rollup = RollUp.objects.get()
    assert (rollup.profiles, rollup.converted_profiles) == (8, 1)


def test_running_the_roll_up_twice_gives_the_same_numbers(run):
    roll_up()  # the beat task
    first = rows()
    RollUp.objects.update(rolled_at=None)  # as if it had never run: everything is recomputed
    roll_up()
    assert rows() == first
    assert DailyStat.objects.count() == len(first)


def test_a_finished_dispatch_with_nothing_new_is_not_recomputed(run):
    with time_machine.travel(f.T0 + timedelta(days=2), tick=False):
        assert do_roll_up() == 1
        assert do_roll_up() == 0


def test_a_view_arriving_later_is_picked_up_by_the_next_pass(run):
    with time_machine.travel(f.T0 + timedelta(days=2), tick=False):
        do_roll_up()
        late = Message.objects.filter(variant="B", status=Message.Status.SENT).get()
        do_record_engagement(late.pk, "viewed", f.T0 + timedelta(days=2))
        assert do_roll_up() == 1
    assert DailyStat.objects.get(variant="B", day=f.T0.date() + timedelta(days=2)).viewed == 1


def test_a_sending_dispatch_is_recomputed_on_every_pass(run):
    Dispatch.objects.filter(pk=run.dispatch_id).update(status=Dispatch.Status.SENDING, finished_at=None)
    do_roll_up()
    Message.objects.filter(status=Message.Status.QUEUED).update(status=Message.Status.SENT, sent_at=f.T0, attempts=1)
    assert do_roll_up() == 1
    assert DailyStat.objects.get(variant="B", day=DAY1).delivered == 2


def test_an_ab_runs_remainder_dispatch_is_rolled_up_with_the_run(run):
    remainder = Dispatch.objects.create(channel=Dispatch.Channel.WEB_PUSH, label="rest", status=Dispatch.Status.DONE)
    run.remainder = remainder
    run.winner = "B"
    run.save()
    person = f.profile()
    Message.objects.create(
        dispatch=remainder, profile=person, device=f.device(person), variant="B", status="sent", sent_at=f.T0
    )
    assert do_roll_up() == 2
    assert DailyStat.objects.filter(dispatch=remainder, run=run, variant="B").get().delivered == 1
