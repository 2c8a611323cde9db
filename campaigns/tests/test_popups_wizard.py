"""The wizard for a Web Exit Intent campaign: Start asks no type (the pop-up's targeting is in
Who), Who asks for its websites, and a campaign without them cannot be published. (Who's
targeting and words: test_who.py; When's DND and cut-off: test_when.py.)"""

from datetime import time

import pytest

from campaigns import summary
from campaigns.actions import lifecycle
from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign
from segments.models import Site

pytestmark = pytest.mark.django_db


def test_start_hides_the_types_for_a_pop_up_and_says_why(marketer):
    page = marketer.get("/campaigns/new/", follow=True).content.decode()
    assert 'data-show-if="channel=web_push|mobile_push"' in page
    assert 'data-show-if="channel=exit_intent|permission_request"' in page
    assert "there is no type to choose for these channels" in page


def test_a_pop_up_needs_no_type_posted(marketer):
    response = marketer.post("/campaigns/new/", {"name": "Leaving?", "channel": "exit_intent"})
    assert response.status_code == 303
    assert Campaign.objects.get().kind == Campaign.Kind.SINGLE_ACTION


@pytest.mark.parametrize("kind", ["one_time", "recurring", "inaction"])
def test_a_type_posted_for_a_pop_up_without_javascript_is_ignored(marketer, kind):
    response = marketer.post("/campaigns/new/", {"name": "Leaving?", "channel": "exit_intent", "kind": kind})
    assert response.status_code == 303
    assert Campaign.objects.get().kind == Campaign.Kind.SINGLE_ACTION


def test_a_push_campaign_still_needs_its_type(marketer):
    response = marketer.post("/campaigns/new/", {"name": "Sale", "channel": "web_push"})
    assert response.status_code == 422
    assert "Choose the type." in response.content.decode()


def test_a_pop_up_without_websites_cannot_be_published():
    campaign = do_create_draft(
        name="Leaving?", channel=Campaign.Channel.EXIT_INTENT, kind=Campaign.Kind.SINGLE_ACTION, owner=None
    )
    Campaign.objects.filter(pk=campaign.pk).update(exit_trigger={"type": "page_count", "count": 1})
    campaign.refresh_from_db()
    assert "Choose the website(s) whose pages show the pop-up." in lifecycle.check_ready(campaign)


def test_overview_says_where_it_shows_and_that_its_cap_is_first_come_first_served():
    campaign = do_create_draft(
        name="Leaving?", channel=Campaign.Channel.EXIT_INTENT, kind=Campaign.Kind.SINGLE_ACTION, owner=None
    )
    Campaign.objects.filter(pk=campaign.pk).update(reach_mode="cap", target_cap=100, cutoff_time=time(20))
    campaign.refresh_from_db()
    campaign.sites.add(Site.objects.create(name="Shop", allowed_origins=["https://shop.example.com"]))

    rows = {label: text for section in summary.sections(campaign) for label, text in section["rows"]}

    assert rows["Websites"] == "Shop"
    assert rows["Send to"] == "the first 100 who qualify, then it completes"
    assert rows["Cut-off"] == "no pop-up after 20:00 until midnight"
