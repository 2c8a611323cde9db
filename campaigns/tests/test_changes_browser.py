"""Changing a running campaign in headless Chromium, as a marketer would, without a line of
our JavaScript needed: its message (the confirmation says what happens to the queued
messages), Stop that asks first, then Archive and Restore."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from accounts import roles
from campaigns.actions import runs
from campaigns.models import Campaign, CampaignRun
from campaigns.tests.scheduled import audience, make_campaign
from conftest import PASSWORD
from delivery.models import Dispatch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OLD = {"title": "Spring sael", "body": "It is spring", "url": "https://shop.example/sale"}


def test_a_marketer_fixes_a_running_campaigns_typo_then_stops_archives_and_restores_it(page, make_user):
    marketer = make_user(roles.MARKETER)
    audience(3)
    campaign = make_campaign(marketer, variants=[{"content": OLD}], status="scheduled")
    run = runs.do_start_run(CampaignRun.objects.create(campaign=campaign, planned_at=datetime.now(UTC)).pk)
    Dispatch.objects.filter(pk=run.dispatch_id).update(status="paused")  # nothing goes out meanwhile

    page.goto(f"/login/?next=/campaigns/{campaign.pk}/")
    page.get_by_label("Username").fill(marketer.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Change message").click()
    expect(page.locator("#changing-note")).to_contain_text("is running")
    page.locator('[name="v0-title"]').fill("Spring sale")
    page.get_by_role("button", name="Review the change").click()

    expect(page.locator("#impact-text")).to_contain_text(
        "3 messages already queued will be sent with the new text; 0 already sent keep the old one"
    )
    page.get_by_role("button", name="Change it").click()

    expect(page.get_by_role("heading", name="Spring sale", level=1)).to_be_visible()
    assert Dispatch.objects.get(pk=run.dispatch_id).contents["A"]["title"] == "Spring sale"

    page.get_by_role("button", name="Stop").first.click()
    expect(page.locator("#stop-impact")).to_contain_text("3 messages queued or waiting will not be sent")
    assert Campaign.objects.get(pk=campaign.pk).status == "running"
    page.get_by_role("button", name="Stop it").click()
    expect(page.locator(".badge.status-stopped")).to_have_text("Stopped")

    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_text("Archived", exact=True)).to_be_visible()
    page.get_by_role("button", name="Restore").click()
    expect(page.get_by_text("Archived", exact=True)).to_have_count(0)
    saved = Campaign.objects.get(pk=campaign.pk)
    assert (saved.status, saved.archived_at) == ("stopped", None)
