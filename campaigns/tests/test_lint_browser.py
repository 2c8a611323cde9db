"""The personalisation check on Overview in headless Chromium (the page fixture checks CSP
and axe-core): Schedule is refused at the Send anyway box, then goes with it ticked."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts import roles
from campaigns.models import Campaign
from campaigns.tests.scheduled import audience, make_campaign
from conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_finding_is_shown_and_scheduling_needs_send_anyway(page, make_user):
    owner = make_user(roles.MARKETER, username="lea")
    audience(3)
    content = {"title": "Hi {{ profile.first_name }},", "body": "Spring is here"}
    campaign = make_campaign(owner, variants=[{"content": content}], send_at=timezone.now() + timedelta(days=1))
    page.goto(f"/login/?next=/campaigns/{campaign.pk}/overview/")
    page.get_by_label("Username").fill("lea")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign.pk}/overview/$"))

    check = page.get_by_role("region", name="Personalisation check")
    expect(check).to_contain_text("A personalisation renders empty: The title shows nothing for")
    expect(check.get_by_role("link", name="Fix it in What")).to_have_attribute("href", re.compile(r"#id_v0-title$"))
    expect(check.locator(".lint-examples li")).to_have_count(3)

    page.get_by_role("button", name="Schedule notification").click()
    box = page.get_by_label("Send anyway, with what the personalisation check above found")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_send_anyway_error")).to_contain_text("fix it, or tick “Send anyway”")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT

    box.check()
    page.get_by_role("button", name="Schedule notification").click()
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign.pk}/$"))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED
