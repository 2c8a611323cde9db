"""App Inbox in headless Chromium, under the CSP and axe-core's WCAG A/AA checks (the ``page``
fixture): the What step's "Send a copy to App Inbox" section, a bad colour shown at its field
then saved once fixed; the stats page's inbox counts next to "Amplified"."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts import roles
from campaigns.actions import runs
from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign, CampaignRun
from campaigns.tests.scheduled import audience, make_campaign
from conftest import PASSWORD
from delivery.actions import inbox
from delivery.models import InboxItem

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, username, then):
    page.goto(f"/login/?next={then}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(then)}$"))


def test_a_marketer_sends_a_copy_to_the_inbox_and_fixes_a_colour_at_its_field(page, make_user):
    owner = make_user(roles.MARKETER, username="mia")
    campaign = do_create_draft(
        name="Spring sale", channel=Campaign.Channel.WEB_PUSH, kind=Campaign.Kind.ONE_TIME, owner=owner
    )
    log_in(page, "mia", f"/campaigns/{campaign.pk}/what/")
    page.locator("#id_v0-title").fill("Spring sale")
    page.locator("#id_v0-body").fill("Starts today")
    page.locator("#id_v0-url").fill("https://shop.example/sale")
    page.get_by_text("App Inbox", exact=True).click()  # the folded section
    page.get_by_label("Send a copy to App Inbox").check()
    page.get_by_label("Title colour").fill("red")
    page.get_by_label("Tags").fill("offers, spring")
    page.get_by_label("Keep in the inbox for (hours)").fill("48")
    page.get_by_role("button", name="Continue").click()

    error = page.locator("#id_v0-inbox_title_color_error")
    expect(error).to_have_text("A colour as #rrggbb, e.g. #1a2b3c.")
    expect(page.get_by_label("Title colour")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Title colour").fill("#112233")
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign.pk}/setup/$"))
    assert campaign.variants.get().content["inbox"] == {
        "title_color": "#112233",
        "tags": ["offers", "spring"],
        "ttl": 48 * 3600,
    }


def test_the_stats_page_shows_inbox_views_and_the_boost_beside_amplified(page, make_user):
    now = timezone.now()
    people = audience(2)
    content = {"title": "Spring sale", "body": "Starts today", "inbox": {"ttl": 86400}}
    campaign = make_campaign(make_user(roles.MARKETER), variants=[{"content": content}], status="scheduled")
    run = runs.do_start_run(CampaignRun.objects.create(campaign=campaign, planned_at=now).pk)
    item = InboxItem.objects.get(dispatch=run.dispatch, profile=people[0])
    inbox.do_mark_read(people[0], item.pk, now=now + timedelta(minutes=1))
    make_user(roles.VIEWER, username="val")

    log_in(page, "val", f"/stats/campaigns/{campaign.pk}/")

    numbers = page.locator("#numbers")
    expect(numbers.locator('[data-count="inbox_copies"]')).to_have_text("2")
    expect(numbers.locator('[data-count="inbox_views"]')).to_have_text("1")
    expect(numbers.locator('[data-count="inbox_boost"]')).to_have_text("1")
    expect(numbers.locator('[data-counter="inbox_boost_percent"]')).to_have_text("(50.0 %)")
