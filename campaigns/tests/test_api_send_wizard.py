"""The wizard's API-triggered campaigns: Start offers the type for Web Push and Mobile Push;
When shows what applies to a request (its window, DND, cut-off, the caps) and no date or
trigger event; Overview shows how to call it; it publishes with no event chosen."""

import pytest
import time_machine
from django.urls import reverse

from campaigns import schedule
from campaigns.actions import lifecycle, lint
from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign, Variant
from campaigns.tests.live import person

pytestmark = pytest.mark.django_db

Kind, Channel = Campaign.Kind, Campaign.Channel


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel("2026-06-10 12:00Z", tick=False):
        yield


def draft(channel=Channel.WEB_PUSH):
    return do_create_draft(name="Order confirmation", channel=channel, kind=Kind.API_TRIGGERED, owner=None)


def test_start_offers_api_triggered(marketer):
    page = marketer.get("/campaigns/new/", follow=True).content.decode()
    assert 'value="api_triggered"' in page
    assert "API triggered" in page


@pytest.mark.parametrize("channel", [Channel.WEB_PUSH, Channel.MOBILE_PUSH])
def test_start_makes_an_api_triggered_push_campaign(marketer, channel):
    response = marketer.post(
        "/campaigns/new/", {"name": "Order confirmation", "channel": channel, "kind": "api_triggered"}
    )
    assert response.status_code == 303
    assert Campaign.objects.get().kind == Kind.API_TRIGGERED


def test_start_asks_no_type_of_an_exit_intent_pop_up_and_ignores_one_posted(marketer):
    response = marketer.post(
        "/campaigns/new/", {"name": "Pop", "channel": Channel.EXIT_INTENT, "kind": "api_triggered"}
    )
    assert response.status_code == 303
    assert Campaign.objects.get().kind == Kind.SINGLE_ACTION


def test_when_shows_the_window_dnd_and_cut_off_but_no_date_or_event(marketer):
    campaign = draft()
    page = marketer.get(reverse("campaigns:when", args=[campaign.pk])).content.decode()

    for name in ("starts_at", "ends_at", "dnd_enabled", "cutoff_time", "skip_global_limits"):
        assert f'name="{name}"' in page, name
    for name in ("send_at", "dates", "trigger_event", "send_time", "user_timezone"):
        assert f'name="{name}"' not in page, name
    assert f"/api/v1/campaigns/{campaign.pk}/send" in page


def test_when_saves_the_cut_off(marketer):
    campaign = draft()
    response = marketer.post(
        reverse("campaigns:when", args=[campaign.pk]), {"timezone": "Europe/Paris", "cutoff_time": "20:00"}
    )
    assert response.status_code == 303, response.content.decode()[:2000]
    campaign.refresh_from_db()
    assert f"{campaign.cutoff_time:%H:%M}" == "20:00"
    assert schedule.describe(campaign).startswith("When your backend asks for it")


def test_overview_shows_how_to_call_it_with_its_id(marketer):
    campaign = draft()
    page = marketer.get(reverse("campaigns:overview", args=[campaign.pk])).content.decode()
    assert f"curl -X POST http://testserver/api/v1/campaigns/{campaign.pk}/send" in page
    assert "Idempotency-Key" in page


def test_it_publishes_without_a_trigger_event():
    campaign = draft()
    Campaign.objects.filter(pk=campaign.pk).update(steps_done=["who", "when", "what", "setup"])
    Variant.objects.filter(campaign=campaign).update(content={"title": "Confirmed", "body": "Thanks"})
    campaign.refresh_from_db()

    assert lifecycle.check_ready(campaign) == []
    assert lifecycle.do_schedule(campaign, user=None).status == Campaign.Status.RUNNING


def test_the_campaign_page_shows_how_to_call_it_once_published(marketer):
    campaign = draft()
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.RUNNING)
    page = marketer.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert f"/api/v1/campaigns/{campaign.pk}/send" in page


def test_the_personalisation_lint_leaves_a_requests_data_alone_but_not_the_profiles():
    person("ada")
    campaign = draft()
    Campaign.objects.filter(pk=campaign.pk).update(steps_done=["who", "when", "what", "setup"])
    content = {"title": "Order {{ data.order_id }}", "body": "Hi {{ profile.nickname }}, {{ data.total | upcase }}"}
    Variant.objects.filter(campaign=campaign).update(content=content)

    report = lint.lint(campaign)

    assert [(finding.kind, finding.field) for finding in report.findings] == [("empty", "body")]
    assert "profile.nickname" in report.findings[0].message
    assert "data" not in report.findings[0].message


def test_who_says_the_requests_name_the_people_and_the_segment_narrows_them(marketer):
    campaign = draft()
    page = marketer.get(reverse("campaigns:who", args=[campaign.pk])).content.decode()
    assert "Everyone a request names" in page
    assert "Your backend names the people in each request" in page
    assert "does the trigger" not in page


def test_overview_says_who_it_goes_to_without_a_segment(marketer):
    campaign = draft()
    Campaign.objects.filter(pk=campaign.pk).update(steps_done=["who"])
    page = marketer.get(reverse("campaigns:overview", args=[campaign.pk])).content.decode()
    assert "Everyone a request names" in page
