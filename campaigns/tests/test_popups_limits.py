"""What decides whether a visitor gets an exit-intent pop-up besides its targeting: the total
cap and the daily limit across visitors, the message by user property value, the control
group (held out and counted), the segment, DND hours, the cut-off and the global frequency
caps. (At once across threads: test_popups_concurrent.py.)"""

from datetime import time, timedelta

import pytest
import time_machine

from campaigns import counts
from campaigns.models import Campaign, ControlMember
from campaigns.tests.popups import NOW, Browser, make_popup, make_site
from delivery.actions.dispatches import do_create_dispatch
from delivery.models import DeliverySettings, Message
from segments.actions.sdk import identify_browser
from segments.models import Profile, Segment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def site():
    return make_site()


def visitors(site, n):
    return [Browser(site) for _ in range(n)]


def given_to(browsers):
    return sum(len(browser.popups()) for browser in browsers)


def test_a_cap_of_one_across_three_visitors_gives_it_once_and_completes_the_campaign(site):
    campaign = make_popup(site, reach_mode=Campaign.ReachMode.CAP, target_cap=1, daily_limit=1)

    assert given_to(visitors(site, 3)) == 1

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert Message.objects.filter(dispatch__run__campaign=campaign).count() == 1


def test_the_visitor_who_got_it_gets_the_same_pop_up_again_while_the_cap_refuses_others(site):
    make_popup(site, reach_mode=Campaign.ReachMode.CAP, target_cap=2)
    first, second, third = visitors(site, 3)

    (given,) = first.popups()
    assert [item["message"] for item in first.popups(pageCount=2)] == [given["message"]]
    assert len(second.popups()) == 1
    assert third.popups() == []


def test_the_visitor_who_took_the_last_place_gets_it_again_on_the_next_page_after_the_campaign_completed(site):
    campaign = make_popup(site, reach_mode=Campaign.ReachMode.CAP, target_cap=1)
    winner, other = visitors(site, 2)

    (given,) = winner.popups()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert [item["message"] for item in winner.popups(pageCount=2)] == [given["message"]]
    assert other.popups() == []


def test_the_daily_limit_counts_people_per_day_in_the_campaigns_time_zone(site, clock):
    campaign = make_popup(site, daily_limit=2, timezone="Europe/Paris")

    assert given_to(visitors(site, 3)) == 2

    clock.shift(timedelta(hours=11))  # 23:00 UTC: past midnight in Paris, a new day there
    assert given_to(visitors(site, 3)) == 2
    assert Message.objects.filter(dispatch__run__campaign=campaign).count() == 4


VARIANTS = (
    ({"title": "Gold offer"}, {"property_value": "Gold"}),
    ({"title": "Silver offer"}, {"property_value": "Silver"}),
    ({"title": "Welcome offer"}, {"is_fallback": True}),
)


def visitor_with(site, identity, **properties):
    browser = Browser(site)
    identify_browser(browser.client_id, identity, vouched=True)
    Profile.objects.filter(identity=identity).update(properties=properties)
    return browser


def test_one_message_per_property_value_gives_a_silver_customer_the_silver_variant(site):
    campaign = make_popup(site, variants=VARIANTS, message_type=Campaign.MessageType.BY_PROPERTY, property_name="tier")

    assert [item["title"] for item in visitor_with(site, "sam", tier="silver ").popups()] == ["Silver offer"]
    assert [item["title"] for item in visitor_with(site, "gil", tier="Gold").popups()] == ["Gold offer"]
    assert [item["title"] for item in visitor_with(site, "ned").popups()] == ["Welcome offer"]
    assert sorted(Message.objects.filter(dispatch__run__campaign=campaign).values_list("variant", flat=True)) == [
        "A",
        "B",
        "C",
    ]


def test_without_a_fallback_someone_of_another_value_gets_none(site):
    make_popup(site, variants=VARIANTS[:2], message_type=Campaign.MessageType.BY_PROPERTY, property_name="tier")
    assert visitor_with(site, "pat", tier="Bronze").popups() == []


def test_a_control_group_member_gets_none_and_is_counted_held_out_once_a_day(site, clock):
    campaign = make_popup(site, control_group_percent=100)
    browser = Browser(site)

    assert browser.popups() == []
    assert browser.popups(pageCount=2) == []

    assert ControlMember.objects.filter(run__campaign=campaign).count() == 1
    assert counts.for_campaign(campaign).held_out == 1
    assert not Message.objects.exists()
    clock.shift(timedelta(days=1))
    assert browser.popups() == []
    assert counts.for_campaign(campaign).held_out == 2


def test_the_campaign_page_shows_the_held_out_count(site, marketer):
    campaign = make_popup(site, control_group_percent=100)
    Browser(site).popups()
    response = marketer.get(f"/campaigns/{campaign.pk}/")
    assert response.status_code == 200
    assert response.context["counts"].held_out == 1


def test_only_the_campaigns_segment_gets_it(site):
    segment = Segment.objects.create(
        name="Gold",
        rules={"match": "all", "conditions": [{"kind": "property", "name": "tier", "op": "equals", "value": "Gold"}]},
    )
    make_popup(site, segment=segment)
    assert visitor_with(site, "sam", tier="Silver").popups() == []
    assert len(visitor_with(site, "gil", tier="Gold").popups()) == 1


def test_no_pop_up_inside_the_campaigns_dnd_hours(site, clock):
    make_popup(site, dnd_enabled=True, dnd_start=time(11), dnd_end=time(13), dnd_action="delay")
    browser = Browser(site)
    assert browser.popups() == []

    clock.shift(timedelta(hours=1, minutes=1))  # 13:01: DND is over
    assert len(browser.popups()) == 1


def test_no_pop_up_after_the_days_cut_off_until_the_next_day(site, clock):
    make_popup(site, cutoff_time=time(11, 30))
    browser = Browser(site)
    assert browser.popups() == []

    clock.shift(timedelta(hours=12))  # 00:00 the next day
    assert len(browser.popups()) == 1


def test_a_visitor_at_the_global_frequency_cap_gets_none_unless_the_campaign_opts_out(site):
    DeliverySettings.objects.update_or_create(pk=1, defaults={"daily_cap": 1})
    browser = visitor_with(site, "ada")
    profile = Profile.objects.get(identity="ada")
    earlier = do_create_dispatch(channel="web_push", label="An earlier push", contents={})
    Message.objects.create(
        dispatch=earlier,
        profile=profile,
        device=profile.devices.get(),
        status=Message.Status.SENT,
        sent_at=NOW - timedelta(hours=2),
    )
    campaign = make_popup(site)
    assert browser.popups() == []

    Campaign.objects.filter(pk=campaign.pk).update(skip_global_limits=True)
    assert len(browser.popups()) == 1


def test_an_event_tracked_on_the_page_makes_the_same_page_eligible_with_its_properties_as_text(site):
    make_popup(
        site,
        trigger={"type": "single_action", "event": "Added To Cart", "filters": []},
        variants=({"title": "Still want the {{ event.product }}?", "body": "10% off"},),
    )
    browser = Browser(site)
    assert browser.popups() == []

    tracked = browser.post("sdk:events", {"name": "Added To Cart", "properties": {"product": "<b>red shoes</b>"}})
    assert tracked.status_code == 200, tracked.content

    assert [item["title"] for item in browser.popups()] == ["Still want the <b>red shoes</b>?"]
