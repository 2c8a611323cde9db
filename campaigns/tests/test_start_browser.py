"""Back to Start in headless Chromium (htmx boosts the Start form): the browser's Back from Who
shows Start with the draft's choices, and Continue goes on with that same draft."""

import re

import pytest
from playwright.sync_api import expect

from accounts import roles
from campaigns.models import Campaign
from tests.test_browser_wizard import log_in, start

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_back_from_who_to_start_and_continue_again_makes_no_second_draft(page, make_user):
    make_user(roles.MARKETER, username="mia")
    log_in(page, "mia")
    start(page, "Weekly picks", "Web Push", "Recurring")
    page.get_by_role("button", name="Continue to Who").click()
    expect(page).to_have_url(re.compile(r"/campaigns/\d+/who/$"))

    page.go_back()
    expect(page.get_by_label("Campaign name")).to_have_value("Weekly picks")
    page.get_by_label("Campaign name").fill("Weekly picks for you")
    page.get_by_role("button", name="Continue to Who").click()
    expect(page).to_have_url(re.compile(r"/campaigns/\d+/who/$"))

    assert list(Campaign.objects.values_list("name", "kind")) == [("Weekly picks for you", "recurring")]
