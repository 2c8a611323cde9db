"""A Web Exit Intent campaign's run history: one run (and one dispatch) per day in the
campaign's time zone, however many pop-ups it gives; held-out people counted in the same
run; the stats roll-up recounting the day's dispatch as pop-ups keep coming and being shown;
retention pruning an old day's dispatch with every figure kept."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from campaigns import counts
from campaigns.models import Campaign, CampaignRun, ControlMember
from campaigns.tests.popups import NOW, Browser, make_popup, make_site
from delivery.models import Dispatch, Message
from segments.actions.devices import browser_device
from segments.models import Device, Segment
from stats import reports
from stats.actions.retention import do_prune_messages
from stats.actions.rollup import do_roll_up

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def site():
    return make_site()


def give(site, n):
    """n new visitors each ask once; the message ids given."""
    return [item["message"] for _ in range(n) for item in Browser(site).popups()]


def test_three_visitors_the_same_day_make_one_run_and_one_dispatch(site, clock):
    campaign = make_popup(site)

    given = give(site, 1)
    clock.shift(timedelta(hours=3))
    given += give(site, 2)

    (run,) = CampaignRun.objects.filter(campaign=campaign)
    assert (run.qualified, run.targeted, run.status) == (3, 3, CampaignRun.Status.COMPLETED)
    assert run.started_at == NOW and run.finished_at == NOW + timedelta(hours=3)
    assert Message.objects.filter(dispatch=run.dispatch).count() == 3
    assert sorted(Message.objects.filter(dispatch=run.dispatch).values_list("pk", flat=True)) == sorted(
        int(pk) for pk in given
    )
    dispatch = Dispatch.objects.get(pk=run.dispatch_id)
    assert dispatch.status == Dispatch.Status.DONE
    assert (dispatch.started_at, dispatch.finished_at) == (NOW, NOW + timedelta(hours=3))
    assert counts.for_campaign(campaign).sent == 3


def test_a_visitor_held_out_is_counted_in_the_days_run(site):
    campaign = make_popup(site)
    give(site, 3)
    Campaign.objects.filter(pk=campaign.pk).update(control_group_percent=100)

    assert give(site, 1) == []

    (run,) = CampaignRun.objects.filter(campaign=campaign)
    assert (run.qualified, run.targeted) == (4, 3)
    assert ControlMember.objects.filter(run=run).count() == 1
    found = counts.for_campaign(campaign)
    assert (found.held_out, found.sent, found.capped) == (1, 3, 0)


def test_a_visitor_held_out_first_starts_the_run_the_pop_ups_given_later_join(site):
    campaign = make_popup(site, control_group_percent=100)
    assert give(site, 1) == []
    Campaign.objects.filter(pk=campaign.pk).update(control_group_percent=0)

    give(site, 2)

    (run,) = CampaignRun.objects.filter(campaign=campaign)
    assert (run.qualified, run.targeted, run.control_members.count()) == (3, 2, 1)
    assert Message.objects.filter(dispatch=run.dispatch).count() == 2


def test_the_next_local_day_starts_a_second_run(site, clock):
    # 12:00 UTC is 21:00 in Tokyo: the local day ends at 15:00 UTC.
    campaign = make_popup(site, timezone="Asia/Tokyo")
    give(site, 1)
    clock.shift(timedelta(hours=2, minutes=59))
    give(site, 1)
    assert CampaignRun.objects.filter(campaign=campaign).count() == 1

    clock.shift(timedelta(minutes=2))  # 00:01 the next day in Tokyo, still 1 June in UTC
    give(site, 1)

    runs = list(CampaignRun.objects.filter(campaign=campaign).order_by("planned_at"))
    assert [(run.qualified, run.targeted) for run in runs] == [(2, 2), (1, 1)]
    assert runs[0].dispatch_id != runs[1].dispatch_id
    assert counts.for_campaign(campaign).sent == 3


def test_a_changed_message_starts_a_new_run_for_the_pop_ups_given_after_it(site):
    campaign = make_popup(site)
    give(site, 1)
    campaign.versions.create(number=2, contents={}, created_at=NOW)
    campaign.variants.update(content={"title": "Still here?", "body": "15% off"})

    (item,) = Browser(site).popups()
    give(site, 1)

    assert item["title"] == "Still here?"
    runs = list(CampaignRun.objects.filter(campaign=campaign).order_by("planned_at"))
    assert [(run.dispatch.version, run.targeted) for run in runs] == [(1, 1), (2, 2)]
    assert runs[1].dispatch.contents["A"]["title"] == "Still here?"


def test_the_roll_up_recounts_the_days_dispatch_as_pop_ups_come_and_are_shown(site, clock, marketer):
    campaign = make_popup(site)
    first = Browser(site)
    (item,) = first.popups()
    do_roll_up()
    stats = reverse("stats:campaign", args=[campaign.pk])
    assert marketer.get(stats).context["numbers"].sent == 1

    clock.shift(timedelta(minutes=30))
    give(site, 2)
    first.report(item["message"], "clicked")
    do_roll_up()

    numbers = marketer.get(stats).context["numbers"]
    assert (numbers.sent, numbers.viewed, numbers.clicked) == (3, 1, 1)
    assert dict(reports.listed())[campaign].sent == 3


def test_retention_prunes_an_old_days_dispatch_and_the_figures_read_the_same(site, clock):
    campaign = make_popup(site)
    browsers = [Browser(site) for _ in range(3)]
    items = [item for browser in browsers for item in browser.popups()]
    browsers[0].report(items[0]["message"], "clicked")
    browsers[1].report(items[1]["message"], "closed")
    clock.shift(timedelta(days=1))
    give(site, 1)  # the next day's run stays
    do_roll_up()

    def figures():  # what the stats page and the campaign page read
        numbers = reports.totals(Campaign.objects.get(pk=campaign.pk))
        page = counts.for_campaign(campaign)
        return (numbers.sent, numbers.viewed, numbers.clicked, numbers.closed, page.sent, page.reachable)

    before = figures()
    assert before == (4, 2, 1, 1, 4, 4)

    clock.shift(timedelta(days=91))
    found = do_prune_messages(pause=0)

    assert found["dispatches"] == 2
    assert Message.objects.filter(dispatch__run__campaign=campaign).count() == 0
    assert figures() == before


def test_the_daily_limit_and_the_cap_count_every_run_of_the_day(site):
    campaign = make_popup(site, daily_limit=2)
    give(site, 1)
    campaign.variants.update(content={"title": "Still here?"})
    give(site, 1)  # a second run that day

    assert give(site, 1) == []
    assert CampaignRun.objects.filter(campaign=campaign).count() == 2

    Campaign.objects.filter(pk=campaign.pk).update(daily_limit=None, reach_mode=Campaign.ReachMode.CAP, target_cap=3)
    assert len(give(site, 2)) == 1
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED


def test_a_device_condition_of_the_segment_reads_the_visitors_devices(site):
    segment = Segment.objects.create(
        name="Ask", rules={"match": "all", "conditions": [{"kind": "push_status", "channel": "web", "values": ["ask"]}]}
    )
    make_popup(site, segment=segment)
    asking, blocked = Browser(site), Browser(site)
    for browser in (asking, blocked):
        browser_device(browser.client_id)
    Device.objects.filter(client_id=blocked.client_id).update(push_status=Device.PushStatus.BLOCKED)

    assert len(asking.popups()) == 1
    assert blocked.popups() == []
