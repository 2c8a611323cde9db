"""Send now in headless Chromium: the When step's choice hides the time box, Overview says
when it goes and Schedule fires it; a send time that passed on the way is fixed on Overview
itself with one press."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts import roles
from campaigns.actions import dispatcher
from campaigns.models import Campaign, CampaignRun
from campaigns.tests.scheduled import audience, make_campaign
from conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, campaign, step):
    page.goto(f"/login/?next=/campaigns/{campaign.pk}/{step}/")
    page.get_by_label("Username").fill("mia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign.pk}/{step}/$"))


def test_a_marketer_chooses_send_now_and_schedules_it(page, make_user):
    owner = make_user(roles.MARKETER, username="mia")
    audience(2)
    campaign = make_campaign(owner, send_at=None, steps_done=["who", "what", "setup"])
    log_in(page, campaign, "when")

    expect(page.get_by_label("Send on")).to_be_visible()
    page.get_by_label("Now, when I schedule it").check()
    expect(page.get_by_label("Send on")).to_be_hidden()
    expect(page.locator("#when-runs")).to_contain_text("It goes the moment it is scheduled on Overview.")
    page.get_by_role("button", name="Continue to What").click()
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign.pk}/what/$"))

    page.goto(f"/campaigns/{campaign.pk}/overview/")
    expect(page.get_by_text("Once, as soon as it is scheduled.")).to_be_visible()
    pressed = timezone.now()
    page.get_by_role("button", name="Schedule notification").click()
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign.pk}/$"))
    campaign.refresh_from_db()
    assert campaign.status == "scheduled"
    assert pressed <= campaign.next_run_at <= timezone.now()
    dispatcher.do_dispatch_due()  # the next beat tick, within 5 s
    assert CampaignRun.objects.filter(campaign=campaign).count() == 1


def test_a_send_time_that_passed_is_fixed_on_overview_with_send_now(page, make_user):
    owner = make_user(roles.MARKETER, username="mia")
    campaign = make_campaign(owner, send_at=timezone.now() + timedelta(seconds=2))
    log_in(page, campaign, "overview")
    expect(page.locator("#time-fix")).to_have_count(0)
    page.wait_for_timeout(2500)  # the margin runs out while the marketer reads

    page.get_by_role("button", name="Schedule notification").click()
    fix = page.locator("#time-fix")
    expect(fix).to_contain_text("Its send time has passed")
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"
    fix.get_by_role("button", name="Send now").click()

    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign.pk}/$"))
    campaign.refresh_from_db()
    assert (campaign.status, campaign.send_now) == ("scheduled", True)
