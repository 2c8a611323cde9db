"""The campaign list and a campaign's page in headless Chromium: filters that update the
table through htmx and keep the URL, a row action, and live counters that poll while
messages can still move and stop once they cannot."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts import roles
from campaigns.models import Campaign, CampaignRun
from conftest import PASSWORD
from delivery.models import Dispatch, Message
from segments.models import Device, Profile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, make_user, role=roles.MARKETER):
    user = make_user(role)
    page.goto("/login/?next=/campaigns/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/campaigns/$"))
    return user


def rows(page):
    return page.locator("#results tbody tr td.name a")


def test_filters_update_the_table_keep_the_url_and_a_row_action_comes_back_to_them(page, make_user):
    Campaign.objects.create(name="Spring sale", channel="web_push", kind="one_time")
    Campaign.objects.create(name="Cart reminder", channel="mobile_push", kind="inaction", status="running")
    Campaign.objects.create(name="Cart survey", channel="web_push", kind="one_time", status="stopped")
    log_in(page, make_user)
    expect(rows(page)).to_have_count(3)

    page.get_by_label("Search by name").fill("cart")
    expect(rows(page)).to_have_count(2)
    expect(page).to_have_url(re.compile(r"q=cart"))
    page.get_by_label("Channel").select_option("mobile_push")
    expect(rows(page)).to_have_text(["Cart reminder"])
    expect(page).to_have_url(re.compile(r"channel=mobile_push"))

    page.go_back()
    expect(rows(page)).to_have_count(2)
    page.reload()
    expect(rows(page)).to_have_count(2)
    expect(page.get_by_label("Search by name")).to_have_value("cart")

    page.locator("tr", has_text="Cart reminder").get_by_role("button", name="Pause").click()
    expect(page.locator(".messages")).to_contain_text("“Cart reminder” is paused.")
    expect(page).to_have_url(re.compile(r"q=cart"))
    expect(page.locator("tr", has_text="Cart reminder")).to_contain_text("Paused")
    assert Campaign.objects.get(name="Cart reminder").status == "paused"


def test_a_viewer_sees_no_action_buttons(page, make_user):
    Campaign.objects.create(name="Cart reminder", channel="mobile_push", kind="inaction", status="running")
    log_in(page, make_user, roles.VIEWER)
    expect(rows(page)).to_have_text(["Cart reminder"])
    expect(page.locator(".action-form")).to_have_count(0)


def test_live_counters_follow_the_run_and_stop_polling_when_nothing_can_move(page, make_user):
    campaign = Campaign.objects.create(name="Cart reminder", channel="mobile_push", kind="inaction", status="running")
    dispatch = Dispatch.objects.create(channel="mobile_push", label="run", status="sending")
    now = timezone.now()
    CampaignRun.objects.create(campaign=campaign, planned_at=now, status="running", started_at=now, dispatch=dispatch)
    for index in range(3):
        profile = Profile.objects.create(identity=f"p{index}")
        device = Device.objects.create(profile=profile, platform="ios", token=f"t{index}", push_status="allowed")
        Message.objects.create(dispatch=dispatch, profile=profile, device=device, status="queued")
    log_in(page, make_user)
    page.goto(f"/campaigns/{campaign.pk}/")
    counters = page.locator("#live-counters")
    expect(counters.locator('[data-count="waiting"]')).to_have_text("3")
    expect(counters).to_have_attribute("hx-trigger", "every 2s")

    Message.objects.filter(dispatch=dispatch).update(status="sent")
    expect(counters.locator('[data-count="sent"]')).to_have_text("3", timeout=5_000)
    expect(counters.locator('[data-count="waiting"]')).to_have_text("0")
    expect(counters).not_to_have_attribute("hx-trigger", "every 2s")

    asked = []
    page.on("request", lambda request: asked.append(request.url) if "/live/" in request.url else None)
    page.wait_for_timeout(2_500)
    assert asked == []
