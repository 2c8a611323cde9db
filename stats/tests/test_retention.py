"""Message retention (stats/actions/retention.py): old messages go, every figure stays.

A finished A/B campaign with sends, views, clicks, conversions, errors, a control group and
two content versions is read everywhere its numbers show (the campaign page, the campaign
list, the stats page per run and for all runs, the Stats list, each CSV export, the A/B
winner's clicks), its messages are pruned, and everything is read again."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from campaigns.allocation import clicks_per_variant
from campaigns.models import CampaignRun, ContentVersion
from delivery import counts as delivery_counts
from delivery.actions import retention
from delivery.actions.inbox import do_sweep_expired
from delivery.models import Dispatch, InboxItem, Message
from stats import exports
from stats.actions.retention import _freeze, do_prune_messages
from stats.actions.rollup import do_roll_up
from stats.models import ControlConversion, Conversion, DailyStat
from stats.tests import factory as f

pytestmark = pytest.mark.django_db

COUNTERS = ("sent", "delivered", "failed", "dropped", "viewed", "clicked", "conversions", "revenue")
LATER = f.T0 + timedelta(days=120)  # past the default 90 days


def conversion(campaign, message, revenue):
    return Conversion.objects.create(
        message=message,
        campaign=campaign,
        dispatch=message.dispatch,
        variant=message.variant,
        occurred_at=message.sent_at + timedelta(hours=1),
        revenue=Decimal(revenue),
    )


@pytest.fixture
def campaign():
    """A/B, B won, then went to the rest; views, clicks, conversions and errors on days 1 and 2."""
    found = f.campaign(variants=("A", "B"), goal_event="Purchase", goal_window_minutes=24 * 60)
    for number in (1, 2):
        ContentVersion.objects.create(campaign=found, number=number, created_at=f.T0, contents={})
    run = f.run(found, qualified=12, winner="B", winner_picked_at=f.T0 + timedelta(hours=2))
    run.remainder = Dispatch.objects.create(
        channel=Dispatch.Channel.WEB_PUSH,
        label="rest",
        status=Dispatch.Status.DONE,
        started_at=f.T0 + timedelta(hours=2),
        finished_at=f.T0 + timedelta(hours=3),
    )
    run.save()
    day2 = f.T0 + timedelta(days=1)
    f.message(run, variant="A", viewed_at=f.T0, clicked_at=f.T0)
    f.message(run, variant="A", viewed_at=day2)
    f.message(run, variant="A", status=Message.Status.FAILED, code="token_invalid")
    bought = f.message(run, variant="B", viewed_at=f.T0, clicked_at=f.T0, version=2)
    f.message(run, variant="B", viewed_at=f.T0, clicked_at=day2, version=2)
    f.message(run, variant="B", status=Message.Status.DROPPED, code="frequency_cap")
    rest = f.message(run, variant="B", sent_at=f.T0 + timedelta(hours=2), viewed_at=day2, clicked_at=day2)
    Message.objects.filter(pk=rest.pk).update(dispatch=run.remainder)
    rest.refresh_from_db()
    f.message(run, variant="B", status=Message.Status.FAILED, code="server_issue", attempts=0)
    conversion(found, bought, "19.90")
    conversion(found, rest, "5.00")
    held = f.control_member(run)
    ControlConversion.objects.create(run=run, profile=held.profile, occurred_at=day2, revenue=Decimal("3.00"))
    found.run = run
    return found


def without_tokens(html):
    """A page's HTML without what differs per request (CSP nonce, CSRF token)."""
    html = re.sub(r'nonce="[^"]*"', "", html)
    return re.sub(r'(csrfmiddlewaretoken" value=|"X-CSRFToken": )"[^"]*"', "", html)


def figures(client, campaign):
    """Everything a marketer can read about the campaign's numbers, as shown."""
    run = campaign.run
    pages = {
        "campaign page": reverse("campaigns:detail", args=[campaign.pk]),
        "campaign list": reverse("campaigns:list"),
        "stats list": reverse("stats:index"),
        "stats page": reverse("stats:campaign", args=[campaign.pk]),
        "stats page, run": reverse("stats:campaign", args=[campaign.pk]) + f"?run={run.pk}",
        "stats page, errors": reverse("stats:campaign", args=[campaign.pk]) + "?tab=errors",
    }
    shown = {}
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, name
        shown[name] = without_tokens(response.content.decode())
    for table in exports.TABLES:
        for query in ("", f"?run={run.pk}"):
            response = client.get(reverse("stats:csv", args=[campaign.pk, table]) + query)
            shown[f"{table}.csv{query}"] = response.content.decode()
    shown["A/B clicks"] = clicks_per_variant(Q(dispatch=run.dispatch))
    return shown


def test_every_figure_reads_the_same_after_the_messages_are_pruned(marketer, campaign):
    with time_machine.travel(LATER, tick=False):
        do_roll_up()
        before = figures(marketer, campaign)
        found = do_prune_messages()
        after = figures(marketer, campaign)
    assert not Message.objects.exists()
    assert found == {"dispatches": 2, "messages": 8, "batches": 2, "skipped": 0}
    assert Conversion.objects.filter(message=None).count() == 2
    # The figures are there to compare: the A/B test, the errors, the versions, the control group.
    assert before["A/B clicks"] == {"A": 1, "B": 2}
    assert "token_invalid" in before["errors.csv"] and "frequency_cap" in before["errors.csv"]
    assert "B,yes,3,3,3,3,100.00,2,24.90" in before["variants.csv"]
    assert "targeted,8,2,25.00,24.90" in before["control.csv"]
    assert "sent,5\r\nfailed,2\r\nnot_sent,1" in before["summary.csv"]
    assert re.search(r'data-version="2"><td>Version 2</td>.*?data-counter="sent">2<', before["stats page"])
    for name in before:
        assert after[name] == before[name], name


def test_pruning_waits_for_the_retention_days_and_a_finished_run(campaign):
    with time_machine.travel(f.T0 + timedelta(days=89), tick=False):
        assert do_prune_messages()["dispatches"] == 0
    CampaignRun.objects.filter(pk=campaign.run.pk).update(status=CampaignRun.Status.RUNNING)
    with time_machine.travel(LATER, tick=False):
        do_roll_up()
        assert do_prune_messages()["messages"] == 0
    assert Message.objects.count() == 8


def test_a_dispatch_without_its_roll_up_keeps_its_messages(campaign):
    # Beat has not rolled it up yet (no RollUp row): nothing says what its messages were.
    with time_machine.travel(LATER, tick=False):
        found = do_prune_messages()
    assert found["skipped"] == 2 and found["messages"] == 0
    assert Message.objects.count() == 8


def test_the_funnel_window_keeps_messages_a_goal_may_still_credit(campaign):
    campaign.goal_window_minutes = 90 * 24 * 60
    campaign.save()
    with time_machine.travel(f.T0 + timedelta(days=60), tick=False):
        do_roll_up()
        assert do_prune_messages(days=30)["dispatches"] == 0
    with time_machine.travel(f.T0 + timedelta(days=91), tick=False):
        assert do_prune_messages(days=30)["dispatches"] == 2


def daily():
    return list(
        DailyStat.objects.order_by("dispatch", "variant", "day").values("dispatch", "variant", "day", *COUNTERS)
    )


def test_deletes_in_batches_and_a_later_roll_up_leaves_the_pruned_numbers_alone(campaign):
    with time_machine.travel(LATER, tick=False):
        do_roll_up()
        rolled = daily()
        found = do_prune_messages(batch=3)
        Dispatch.objects.update(finished_at=LATER)  # as if it had just finished: "may have moved"
        do_roll_up()
    assert found["batches"] == 4  # 7 messages of the test (3 + 3 + 1), 1 of the rest
    assert daily() == rolled


def test_a_run_of_the_prune_is_logged_in_one_line(campaign, caplog):
    with time_machine.travel(LATER, tick=False), caplog.at_level("INFO", logger="stats.actions.retention"):
        do_roll_up()
        do_prune_messages()
    lines = [record.getMessage() for record in caplog.records if record.name == "stats.actions.retention"]
    assert len(lines) == 1
    assert "2 dispatches kept as roll-ups, 8 messages deleted in 2 batches" in lines[0]


def test_an_old_test_send_goes_without_a_roll_up_and_a_dispatch_of_no_run_stays(campaign):
    person = f.profile()
    finished = {"status": Dispatch.Status.DONE, "started_at": f.T0, "finished_at": f.T0}
    tested = Dispatch.objects.create(channel="web_push", label="test send", is_test=True, **finished)
    orphan = Dispatch.objects.create(channel="web_push", label="no run", **finished)
    for dispatch in (tested, orphan):
        Message.objects.create(dispatch=dispatch, profile=person, device=f.device(person), status="sent")
    with time_machine.travel(LATER, tick=False):
        do_roll_up()
        found = do_prune_messages()
    assert found["dispatches"] == 3 and found["skipped"] == 1
    assert list(Message.objects.values_list("dispatch", flat=True)) == [orphan.pk]


def test_a_dispatch_left_half_deleted_counts_the_same_and_goes_on_the_next_run(campaign):
    dispatch_id = campaign.run.dispatch_id
    with time_machine.travel(LATER, tick=False):
        do_roll_up()
        before = delivery_counts.of_dispatches([dispatch_id])
        assert _freeze(dispatch_id, now=timezone.now())  # a run stopped before deleting
        assert retention.do_delete_batch(dispatch_id, size=2) == 2  # and after one batch
        assert delivery_counts.of_dispatches([dispatch_id]) == before
        found = do_prune_messages()
    assert found["dispatches"] == 1  # the rest; the half-deleted one was kept already
    assert not Message.objects.filter(dispatch_id=dispatch_id).exists()
    assert delivery_counts.of_dispatches([dispatch_id]) == before


def test_amplified_closed_and_inbox_counts_read_the_same_after_the_prune(marketer, campaign):
    # Amplified and closed are stamps on the messages, the inbox's counts live on its items:
    # each is kept with the dispatch's tally, so neither the page nor the counts change.
    run = campaign.run
    first, second, third = Message.objects.filter(dispatch=run.dispatch).order_by("pk")[:3]
    Message.objects.filter(pk__in=[first.pk, second.pk]).update(amplified_at=f.T0)
    Message.objects.filter(pk=third.pk).update(closed_at=f.T0)
    expires = f.T0 + timedelta(days=7)
    for message, read in ((first, True), (second, False)):
        InboxItem.objects.create(
            dispatch=run.dispatch,
            profile=message.profile,
            variant=message.variant,
            created_at=f.T0,
            expires_at=expires,
            read_at=f.T0 if read else None,
            before_push=read,
        )
    where = Q(dispatch=run.dispatch)

    def counted():
        inbox = delivery_counts.inbox(where)
        return delivery_counts.amplified(where), delivery_counts.closed(where), inbox.copies, inbox.views, inbox.boosted

    stats_page = reverse("stats:campaign", args=[campaign.pk])
    with time_machine.travel(LATER, tick=False):
        do_roll_up()
        before, page_before = counted(), without_tokens(marketer.get(stats_page).content.decode())
        do_prune_messages()
        do_sweep_expired()  # the expired items of the pruned dispatch go
        # A copy read after the prune (an app that was offline) changes nothing either.
        InboxItem.objects.filter(read_at__isnull=True).update(read_at=LATER)
        after, page_after = counted(), without_tokens(marketer.get(stats_page).content.decode())
    assert before == (2, 1, 2, 1, 1)
    assert not Message.objects.filter(dispatch=run.dispatch).exists()
    assert not InboxItem.objects.exists()
    assert after == before
    assert page_after == page_before
