"""The Overview step: the summary, what is missing, and Schedule / Publish."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine

from accounts import roles
from campaigns.models import Campaign, Label, Variant
from segments.models import Segment, Site

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def make_campaign(db, make_user):
    def make(**fields):
        segment = Segment.objects.create(
            name="Gold customers",
            rules={
                "match": "all",
                "conditions": [{"kind": "property", "name": "tier", "op": "equals", "value": "Gold"}],
            },
            last_reach=1234,
            last_reachable={"web": 800, "android": 300, "ios": 100, "any": 1100},
        )
        values = {
            "name": "Spring sale",
            "channel": "web_push",
            "kind": "one_time",
            "owner": make_user(roles.MARKETER),
            "segment": segment,
            "send_at": NOW + timedelta(days=1),
            "timezone": "Europe/Paris",
            "steps_done": ["who", "when", "what", "setup"],
            "goal_event": "Charged",
            "goal_window_minutes": 120,
            "control_group_percent": 5,
        }
        campaign = Campaign.objects.create(**(values | fields))
        Variant.objects.create(campaign=campaign, content={"title": "Sale starts", "body": "20% off", "ttl": 3600})
        if campaign.channel == "exit_intent":
            campaign.sites.add(Site.objects.create(name="Shop", allowed_origins=["https://shop.example.com"]))
        return campaign

    return make


def url(campaign):
    return f"/campaigns/{campaign.pk}/overview/"


def test_the_summary_shows_every_step_with_an_edit_link(marketer, make_campaign):
    campaign = make_campaign()
    campaign.labels.add(Label.objects.create(name="Spring"))
    page = marketer.get(url(campaign)).content.decode()
    for step in ("who", "when", "what", "setup"):
        assert f'href="/campaigns/{campaign.pk}/{step}/"' in page
    assert "Gold customers" in page
    assert "tier equals Gold" in page
    assert "1,234 qualified, 800 reachable by web push" in page
    assert "Once on 5 May 2026 at 11:00 Europe/Paris." in page  # campaigns.schedule.describe
    assert "Sale starts" in page and "20% off" in page
    assert "Time to live</dt><dd>3,600 seconds (1 hour)" in page
    assert "5 % held out" in page
    assert "Spring" in page
    assert "Charged, within 2 hours after the message is sent" in page


def test_an_adhoc_segment_is_shown_by_its_rules(marketer, make_campaign):
    adhoc = Segment.objects.create(
        name="",
        is_adhoc=True,
        rules={
            "match": "any",
            "conditions": [{"kind": "event", "event": "Charged", "count": {"op": "at_least", "value": 2}}],
        },
    )
    campaign = make_campaign(segment=adhoc)
    page = marketer.get(url(campaign)).content.decode()
    assert "Ad-hoc segment: did Charged at least 2 times" in page


def test_a_live_campaign_without_a_segment_goes_to_everyone_who_does_the_trigger(marketer, make_campaign):
    campaign = make_campaign(segment=None, kind="single_action", trigger_event="Added To Cart")
    page = marketer.get(url(campaign)).content.decode()
    assert "Everyone who does the trigger" in page
    assert "Still missing" not in page


def test_a_ready_campaign_has_nothing_missing_and_can_be_scheduled(marketer, make_campaign):
    response = marketer.get(url(make_campaign()))
    assert response.context["problems"] == []
    assert b"Still missing" not in response.content
    assert b'<button type="submit" class="primary">Schedule notification</button>' in response.content


def test_what_is_missing_is_listed_with_links_and_the_button_is_disabled(marketer, make_campaign):
    campaign = make_campaign(steps_done=["who"], send_at=None, control_group_percent=0)
    Variant.objects.filter(campaign=campaign).update(content={})
    response = marketer.get(url(campaign))
    page = response.content.decode()
    assert "Still missing" in page
    assert f'<a href="/campaigns/{campaign.pk}/when/">When</a>: When is not done yet.' in page
    assert f'<a href="/campaigns/{campaign.pk}/when/">When</a>: Choose when to send it.' in page
    assert f'<a href="/campaigns/{campaign.pk}/what/">What</a>: The message needs a title and a body.' in page
    assert f'<a href="/campaigns/{campaign.pk}/setup/">Setup</a>: Setup is not done yet.' in page
    assert 'disabled aria-describedby="schedule-reason"' in page


def test_scheduling_an_incomplete_campaign_is_refused_with_422(marketer, make_campaign):
    campaign = make_campaign(send_at=NOW - timedelta(hours=1))
    response = marketer.post(url(campaign))
    assert response.status_code == 422
    assert "Its send time has passed" in response.context["error"]
    campaign.refresh_from_db()
    assert campaign.status == "draft"


@pytest.mark.parametrize(
    ("fields", "button", "status"),
    [
        ({"kind": "one_time"}, "Schedule notification", "scheduled"),
        ({"kind": "recurring", "repeat": "daily", "send_time": time(9, 30)}, "Schedule notification", "scheduled"),
        ({"kind": "single_action", "trigger_event": "Added To Cart"}, "Publish campaign", "running"),
        (
            {"channel": "exit_intent", "kind": "single_action", "exit_trigger": {"type": "page_count", "count": 3}},
            "Publish campaign",
            "running",
        ),
    ],
)
def test_schedule_or_publish_per_kind(marketer, make_campaign, fields, button, status):
    campaign = make_campaign(**fields)
    assert button.encode() in marketer.get(url(campaign)).content
    response = marketer.post(url(campaign), headers={"HX-Request": "true"})
    assert response.status_code == 303
    assert response["Location"] == f"/campaigns/{campaign.pk}/"
    campaign.refresh_from_db()
    assert campaign.status == status
    assert campaign.scheduled_at == NOW


def test_a_scheduled_campaign_leaves_the_wizard_for_its_page(marketer, make_campaign):
    campaign = make_campaign(status="scheduled")
    response = marketer.post(url(campaign))
    assert response.status_code == 302
    assert response["Location"] == f"/campaigns/{campaign.pk}/"


def test_a_viewer_can_neither_open_nor_schedule(client_as, make_campaign):
    campaign = make_campaign()
    viewer = client_as(roles.VIEWER)
    assert viewer.get(url(campaign)).status_code == 403
    assert viewer.post(url(campaign)).status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == "draft"
