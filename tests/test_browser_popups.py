"""Web Exit Intent pop-ups on the demo site, in headless Chromium: the pop-up appears when
the mouse leaves the page through the top, its text stays text, and its button calls the
page's own function."""

import pytest
from playwright.sync_api import expect

from campaigns.models import Campaign, Variant
from config.demo_site import DEMO_SITE_NAME
from delivery.models import Message
from segments.models import Site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def demo_site_on(settings):
    settings.DEMO_SITE = True  # production settings (DEBUG=0) hide the demo site


def exit_popup(content):
    campaign = Campaign.objects.create(
        name="Leaving already?",
        channel=Campaign.Channel.EXIT_INTENT,
        kind=Campaign.Kind.SINGLE_ACTION,
        status=Campaign.Status.RUNNING,
        exit_trigger={"type": "page_visit", "match": "contains", "url": "/demo/site/"},
    )
    Variant.objects.create(campaign=campaign, content=content)
    # The demo page adds its origin to this Site (config/demo_site.py): a pop-up shows on its sites' pages.
    campaign.sites.set([Site.objects.create(name=DEMO_SITE_NAME, allowed_origins=[])])
    return campaign


def open_demo_and_leave(page):
    with page.expect_response("**/sdk/v1/popups") as answer:
        page.goto("/demo/site/")
    assert answer.value.ok
    page.mouse.move(200, 200)
    page.mouse.move(200, -5)  # out through the top of the viewport


def test_the_pop_up_shows_on_exit_intent_and_its_button_calls_the_pages_function(page):
    campaign = exit_popup(
        {
            "title": "Wait, {{ profile.first_name | default: 'friend' }}!",
            "body": "Here is 10% off.",
            "button_text": "Get my coupon",
            "click_action": "js",
            "js_function": "demoShop.openCoupon",
        }
    )
    with page.expect_response("**/sdk/v1/popups"):
        page.goto("/demo/site/")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_have_count(0)  # not before the mouse leaves

    page.mouse.move(200, 200)
    page.mouse.move(200, -5)

    expect(dialog).to_be_visible()
    expect(dialog).to_have_accessible_name("Wait, friend!")
    expect(dialog).to_contain_text("Here is 10% off.")
    button = dialog.get_by_role("button", name="Get my coupon")
    expect(button).to_be_focused()
    button.click()
    expect(page.locator("#log")).to_contain_text("coupon opened")
    expect(dialog).to_have_count(0)
    assert Message.objects.get().dispatch.run.campaign == campaign


def test_markup_in_the_title_is_shown_as_text_and_escape_closes_it(page):
    exit_popup({"title": '<img src="x" onerror="window.hacked = 1">', "body": "Hi"})
    open_demo_and_leave(page)

    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading")).to_have_text('<img src="x" onerror="window.hacked = 1">')
    assert dialog.locator("img").count() == 0
    assert page.evaluate("window.hacked") is None
    expect(dialog.get_by_role("button", name="Close")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
