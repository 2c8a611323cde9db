"""Soft onboarding on the demo site, in headless Chromium (issue 13, "Must show"): the banner
of a running Push permission request shows for a browser at Ask and not for Allowed or
Blocked; "Maybe later" hides it for the campaign's days; the categories ticked on it land on
the device, and a segment "subscribed to category X" counts the person.

As in test_browser_sdk.py, everything is the browser's own (permission, service worker,
fetch, CORS) except PushManager.prototype.subscribe, whose push service our machines cannot
reach. Every page also fails the test on a CSP violation or an axe-core WCAG A/AA fault,
the banner included (axe reads open shadow roots)."""

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts import roles
from campaigns import counts
from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign, PermissionPrompt, Variant
from config.demo_site import DEMO_SITE_NAME
from conftest import PASSWORD
from segments.actions.reach import estimate_reach
from segments.models import Device, Site
from segments.rules import parse
from tests.test_browser_sdk import STAND_IN_SUBSCRIBE, deny_notifications

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Hear about it first"
BANNER = {
    "template": "categories",
    "title": TITLE,
    "body": "Deals and news <b>as they happen</b>.",
    "subscribe_text": "Subscribe",
    "later_text": "Maybe later",
    "categories": [{"name": "deals", "label": "Deals"}, {"name": "news", "label": "News"}],
    "later_days": 5,
}


@pytest.fixture(autouse=True)
def demo_site_on(settings):
    settings.DEMO_SITE = True  # production settings (DEBUG=0) hide the demo site


@pytest.fixture
def campaign():
    campaign = Campaign.objects.create(
        name="Push opt-in",
        channel=Campaign.Channel.PERMISSION_REQUEST,
        kind=Campaign.Kind.SINGLE_ACTION,
        status=Campaign.Status.RUNNING,
    )
    Variant.objects.create(campaign=campaign, content=BANNER)
    site, _ = Site.objects.get_or_create(name=DEMO_SITE_NAME, defaults={"allowed_origins": []})
    campaign.sites.set([site])
    return campaign


def banner(page):
    return page.get_by_role("dialog", name=TITLE)


def open_demo(page, *, asks=True):
    """The demo page, once the SDK has had Clarion's answer (``asks``: a browser at Ask asks)."""
    if not asks:
        page.goto("/demo/site/")
        expect(page.locator("#push-status")).not_to_have_text("")
        return
    with page.expect_response("**/sdk/v1/onboarding") as answer:
        page.goto("/demo/site/")
    assert answer.value.ok, answer.value.text()


def _reports(response, event):
    return f'"event":"{event}"' in (response.request.post_data or "").replace(" ", "")


def test_the_banner_shows_for_ask_and_maybe_later_hides_it_for_the_chosen_days(page, campaign):
    open_demo(page)
    expect(banner(page)).to_be_visible()
    expect(banner(page)).to_contain_text("Deals and news <b>as they happen</b>.")  # text, not markup
    expect(page.get_by_role("button", name="Enable notifications")).to_be_enabled()  # not modal
    # The "shown" report may still be on its way: wait for the answer to "later" itself.
    with page.expect_response(lambda r: r.url.endswith("/sdk/v1/onboarding/report") and _reports(r, "later")):
        page.get_by_role("button", name="Maybe later").click()
    expect(banner(page)).to_have_count(0)
    prompt = PermissionPrompt.objects.get()
    assert prompt.later_until - prompt.later_at == timedelta(days=5)

    open_demo(page)
    expect(banner(page)).to_have_count(0)
    # Five days on (the stored date moved back): asked again.
    PermissionPrompt.objects.update(later_until=timezone.now() - timedelta(seconds=1))
    open_demo(page)
    expect(banner(page)).to_be_visible()
    page.keyboard.press("Escape")  # put away without an answer
    expect(banner(page)).to_have_count(0)
    _wait_for(lambda: counts.prompt_counts(campaign).shown == 2)  # the second "shown" report may be on its way
    found = counts.prompt_counts(campaign)
    assert (found.shown, found.later, found.subscribed) == (2, 1, 0)


def test_subscribe_stores_the_chosen_categories_and_a_segment_counts_the_person(page, campaign):
    page.add_init_script(STAND_IN_SUBSCRIBE)
    open_demo(page)
    page.get_by_label("News").check()
    # The browser's own prompt, answered Allow: granted before the click that asks.
    page.context.grant_permissions(["notifications"])
    page.get_by_role("button", name="Subscribe").click()
    expect(banner(page)).to_have_count(0)
    _wait_for(lambda: PermissionPrompt.objects.filter(subscribed_at__isnull=False).exists())
    device = Device.objects.get()
    assert device.push_status == Device.PushStatus.ALLOWED
    assert device.categories == ["news"]
    subscribed = parse(
        {"match": "all", "conditions": [{"kind": "push_category", "channel": "web", "values": ["news"]}]}
    )
    deals = parse({"match": "all", "conditions": [{"kind": "push_category", "channel": "web", "values": ["deals"]}]})
    assert estimate_reach(subscribed).qualified == 1
    assert estimate_reach(deals).qualified == 0
    assert counts.prompt_counts(campaign).subscribed == 1

    open_demo(page, asks=False)  # Allowed now: no banner, nothing asked
    expect(page.locator("#push-status")).to_have_text("Allowed")
    expect(banner(page)).to_have_count(0)


def test_a_browser_that_blocked_notifications_gets_no_banner(page, campaign, live_server):
    deny_notifications(page, live_server.url)
    open_demo(page, asks=False)
    expect(page.locator("#push-status")).to_have_text("Blocked")
    expect(banner(page)).to_have_count(0)
    assert not PermissionPrompt.objects.exists()


def test_a_marketer_writes_the_banner_with_categories(page, make_user):
    # The wizard's pages of a permission request pass the CSP and axe checks too.
    mia = make_user(roles.MARKETER, username="mia")
    draft = do_create_draft(name="Opt-in", channel="permission_request", kind="single_action", owner=mia)
    page.goto(f"/login/?next=/campaigns/{draft.pk}/who/")
    page.get_by_label("Username").fill("mia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("has not been asked for push yet")).to_be_visible()
    page.goto(f"/campaigns/{draft.pk}/what/")
    page.get_by_label("Push permissions request (with categories)").check()
    page.get_by_label("Title").fill("Hear about it first")
    page.get_by_label("After “Maybe later”, ask again after (days)").fill("0")
    page.get_by_role("button", name="Save and continue to Setup").click()
    expect(page.locator("#id_v0-later_days_error")).to_contain_text("greater than or equal to 1")
    expect(page.locator("#id_v0-category1_name_error")).to_contain_text("at least one category")
    page.get_by_label("After “Maybe later”, ask again after (days)").fill("30")
    page.locator("#id_v0-category1_name").fill("deals")
    page.locator("#id_v0-category1_label").fill("Deals")
    page.get_by_role("button", name="Save and continue to Setup").click()
    expect(page).to_have_url(re.compile(f"/campaigns/{draft.pk}/setup/$"))
    content = draft.variants.get().content
    assert (content["later_days"], content["categories"]) == (30, [{"name": "deals", "label": "Deals"}])
    for path in (f"/campaigns/{draft.pk}/", f"/stats/campaigns/{draft.pk}/"):
        page.goto(path)
        expect(page.locator("#prompt-counts")).to_contain_text("Maybe later")


def _wait_for(condition, seconds=10):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the SDK's report did not arrive"
        time.sleep(0.1)
