"""Goal events credited once per message inside the funnel window, revenue, control groups."""

from datetime import timedelta
from decimal import Decimal

import pytest

from campaigns.models import Campaign
from stats.actions.events import do_track_events
from stats.models import ControlConversion, Conversion
from stats.tests import factory as f

pytestmark = pytest.mark.django_db

DAY = 24 * 60


@pytest.fixture
def shop():
    """A campaign whose goal is Charged within a day of the send, with revenue from amount."""
    campaign = f.campaign(goal_event="Charged", goal_window_minutes=DAY, revenue_property="amount")
    return f.run(campaign)


def track(*events):
    return do_track_events([event.pk for event in events])


def test_a_goal_event_inside_the_window_converts_the_message_with_its_revenue(shop):
    sent = f.message(shop)
    result = track(f.event(sent.profile, "Charged", f.T0 + timedelta(hours=3), amount=49.9))
    assert result["conversions"] == 1
    conversion = Conversion.objects.get()
    assert (conversion.message_id, conversion.campaign_id, conversion.variant) == (sent.pk, shop.campaign_id, "A")
    assert conversion.revenue == Decimal("49.90")


def test_a_goal_event_outside_the_window_is_not_a_conversion(shop):
    sent = f.message(shop)
    late = f.event(sent.profile, "Charged", f.T0 + timedelta(minutes=DAY + 1), amount=10)
    before = f.event(sent.profile, "Charged", f.T0 - timedelta(minutes=1), amount=10)
    assert track(late, before)["conversions"] == 0
    assert not Conversion.objects.exists()


def test_a_message_converts_once_however_many_goal_events_follow(shop):
    sent = f.message(shop)
    first = f.event(sent.profile, "Charged", f.T0 + timedelta(hours=1), amount=10)
    second = f.event(sent.profile, "Charged", f.T0 + timedelta(hours=2), amount=20)
    assert track(first, second)["conversions"] == 1
    assert track(first, second)["conversions"] == 0  # the task run again
    assert Conversion.objects.get().revenue == Decimal("10.00")


def test_other_events_and_other_profiles_do_not_convert(shop):
    sent = f.message(shop)
    stranger = f.profile()
    result = track(
        f.event(sent.profile, "Product Viewed", f.T0 + timedelta(hours=1)),
        f.event(stranger, "Charged", f.T0 + timedelta(hours=1), amount=5),
    )
    assert result["conversions"] == 0


def test_a_failed_message_cannot_convert(shop):
    failed = f.message(shop, status="failed", code="token_invalid")
    assert track(f.event(failed.profile, "Charged", f.T0 + timedelta(hours=1)))["conversions"] == 0


def test_goal_filters_are_checked_as_segment_rules_compare(shop):
    campaign = shop.campaign
    campaign.goal_filters = [
        {"property": "amount", "operator": "greater", "value": "20"},
        {"property": "currency", "operator": "equals", "value": "EUR"},
    ]
    campaign.save()
    sent = f.message(shop)
    small = f.event(sent.profile, "Charged", f.T0 + timedelta(hours=1), amount=15, currency="EUR")
    other_currency = f.event(sent.profile, "Charged", f.T0 + timedelta(hours=2), amount=50, currency="USD")
    text_amount = f.event(sent.profile, "Charged", f.T0 + timedelta(hours=3), amount="50", currency="EUR")
    assert track(small, other_currency, text_amount)["conversions"] == 0
    assert (
        track(f.event(sent.profile, "Charged", f.T0 + timedelta(hours=4), amount=50, currency="EUR"))["conversions"]
        == 1
    )


def test_an_equals_filter_typed_as_text_matches_a_number(shop):
    shop.campaign.goal_filters = [{"property": "items", "operator": "equals", "value": "2"}]
    shop.campaign.save()
    sent = f.message(shop)
    assert track(f.event(sent.profile, "Charged", f.T0 + timedelta(hours=1), items=2))["conversions"] == 1


def test_revenue_is_taken_only_from_a_number(shop):
    sent = f.message(shop)
    track(f.event(sent.profile, "Charged", f.T0 + timedelta(hours=1), amount="12.50"))
    assert Conversion.objects.get().revenue is None


def test_a_goal_counted_from_the_click_needs_the_click_first(shop):
    campaign = shop.campaign
    campaign.goal_after = Campaign.GoalAfter.CLICKED
    campaign.goal_window_minutes = 60
    campaign.save()
    unclicked = f.message(shop)
    clicked = f.message(shop, clicked_at=f.T0 + timedelta(hours=5), viewed_at=f.T0 + timedelta(hours=5))
    assert track(f.event(unclicked.profile, "Charged", f.T0 + timedelta(minutes=30)))["conversions"] == 0
    too_late = f.event(clicked.profile, "Charged", f.T0 + timedelta(hours=6, minutes=1))
    assert track(too_late)["conversions"] == 0
    assert track(f.event(clicked.profile, "Charged", f.T0 + timedelta(hours=5, minutes=30)))["conversions"] == 1
    assert Conversion.objects.get().message_id == clicked.pk


def test_one_event_converts_the_latest_message_of_the_campaign_only(shop):
    person = f.profile()
    earlier = f.message(shop, person=person, sent_at=f.T0)
    later = f.message(shop, person=person, sent_at=f.T0 + timedelta(hours=1))
    assert track(f.event(person, "Charged", f.T0 + timedelta(hours=2)))["conversions"] == 1
    assert Conversion.objects.get().message_id == later.pk
    assert not Conversion.objects.filter(message=earlier).exists()


def test_a_draft_campaign_does_not_collect_conversions(shop):
    shop.campaign.status = Campaign.Status.DRAFT
    shop.campaign.save()
    sent = f.message(shop)
    assert track(f.event(sent.profile, "Charged", f.T0 + timedelta(hours=1)))["conversions"] == 0


def test_a_control_group_member_converts_inside_the_window_after_the_run_started(shop):
    held = f.control_member(shop)
    late = f.control_member(shop)
    result = track(
        f.event(held.profile, "Charged", f.T0 + timedelta(hours=2), amount=30),
        f.event(held.profile, "Charged", f.T0 + timedelta(hours=3), amount=70),
        f.event(late.profile, "Charged", f.T0 + timedelta(minutes=DAY + 5), amount=30),
    )
    assert result["control_conversions"] == 1
    conversion = ControlConversion.objects.get()
    assert (conversion.run_id, conversion.profile_id, conversion.revenue) == (shop.pk, held.profile_id, Decimal(30))
    assert result["conversions"] == 0  # held out: no message to credit
