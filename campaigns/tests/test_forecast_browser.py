"""The forecast's funnel in headless Chromium (the page fixture checks the CSP and axe-core):
the bars are drawn from the stylesheet, each as long as its share of the first line."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts import roles
from campaigns.tests.scheduled import audience, make_campaign
from conftest import PASSWORD
from segments.models import Device

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_overview_funnel_draws_a_bar_per_line_as_long_as_its_share(page, make_user):
    owner = make_user(roles.MARKETER, username="mia")
    audience(8)
    Device.objects.filter(profile__in=audience(2)).update(push_status="blocked")
    campaign = make_campaign(owner, control_group_percent=50, send_at=timezone.now() + timedelta(hours=1))
    page.goto(f"/login/?next=/campaigns/{campaign.pk}/overview/")
    page.get_by_label("Username").fill("mia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign.pk}/overview/$"))

    funnel = page.locator("#forecast")
    expect(funnel.locator('[data-forecast="expected"]')).to_have_text("4")
    qualified = funnel.locator('tr[data-line="qualified"] .bar').bounding_box()["width"]
    reachable = funnel.locator('tr[data-line="reachable"] .bar').bounding_box()["width"]
    assert qualified > 100
    assert reachable == pytest.approx(0.8 * qualified, rel=0.05)
