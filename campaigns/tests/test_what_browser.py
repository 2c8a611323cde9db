"""The What step in headless Chromium: "@" opens the personalisation menu, the keyboard
picks a property, the preview shows it with the test profile's data, an emoji goes in at
the caret, variants are added and copied with htmx, and Continue saves it all."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from accounts import roles
from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign
from conftest import PASSWORD
from segments.models import Profile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def drawn(page):
    """Wait until htmx has sent every request and drawn its answer."""
    # A function, not an expression: Playwright evals an expression in the page (CSP refuses).
    page.wait_for_function("() => !document.querySelector('.htmx-request,.htmx-swapping,.htmx-settling,.htmx-added')")


def test_a_marketer_personalises_an_ab_test_and_sees_the_preview(page, make_user):
    owner = make_user(roles.MARKETER, username="mia")
    campaign = do_create_draft(
        name="Spring sale", channel=Campaign.Channel.WEB_PUSH, kind=Campaign.Kind.RECURRING, owner=owner
    )
    Profile.objects.create(identity="tess", name="Tess Tester", city="Lyon", is_test=True)
    page.goto(f"/login/?next=/campaigns/{campaign.pk}/what/")
    page.get_by_label("Username").fill("mia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign.pk}/what/$"))
    drawn(page)

    title = page.locator("#id_v0-title")
    title.press_sequentially("Hi @fir")
    menu = page.get_by_role("listbox", name="Personalise with")
    expect(menu.get_by_role("option", name=re.compile("profile.first_name"))).to_be_visible()
    title.press("Escape")
    expect(menu).to_have_count(0)
    title.press_sequentially("s")  # typing on opens it again
    expect(page.get_by_role("option", name=re.compile("profile.first_name"))).to_be_visible()
    title.press("ArrowDown")
    title.press("ArrowUp")
    title.press("Enter")
    expect(title).to_have_value('Hi {{ profile.first_name | default: "there" }}')

    # The emoji picker puts its emoji at the end of the title, where the caret was.
    page.locator("#variant-0").get_by_role("button", name="Insert an emoji").first.click()
    page.locator("#variant-0 .emoji-grid").get_by_role("button", name="🎉").click()
    expect(title).to_have_value('Hi {{ profile.first_name | default: "there" }}🎉')

    page.locator("#id_v0-body").fill("Sale in {{ profile.city }}")
    page.locator("#id_v0-url").fill("https://shop.example/sale")
    preview = page.locator("#what-preview")
    expect(preview.locator(".surface-chrome-windows .n-title")).to_have_text("Hi Tess🎉")
    expect(preview.locator(".surface-chrome-windows .n-body")).to_have_text("Sale in Lyon")

    # An A/B test: the message is copied into B, then B is copied into C.
    page.get_by_text("A/B test", exact=True).click()
    drawn(page)
    expect(page.locator("section.variant")).to_have_count(2)
    page.locator("#variant-1").get_by_role("button", name="Copy").click()
    drawn(page)
    expect(page.locator("section.variant")).to_have_count(3)
    expect(page.get_by_role("button", name="+ Add a variant")).to_have_count(0)
    page.locator("#id_v2-title").fill("Last chance, {{ profile.first_name }}")
    expect(preview.locator(".surface-chrome-windows .n-title")).to_have_text("Last chance, Tess")
    page.locator("#id_ab_test_size").fill("20")
    page.locator("#id_ab_test_minutes").fill("240")
    page.screenshot(path=str(settings.VAR_DIR / "what-step.png"), full_page=True)

    page.get_by_role("button", name="Save and continue to Setup").click()
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign.pk}/setup/$"))
    campaign.refresh_from_db()
    assert (campaign.message_type, campaign.ab_test_size, campaign.ab_test_minutes) == ("ab", 20, 240)
    assert [v.content["title"] for v in campaign.variants.all()] == [
        'Hi {{ profile.first_name | default: "there" }}🎉',
        'Hi {{ profile.first_name | default: "there" }}🎉',
        "Last chance, {{ profile.first_name }}",
    ]

    # A reload of the step finds it as saved.
    page.goto(f"/campaigns/{campaign.pk}/what/")
    expect(page.locator("section.variant")).to_have_count(3)
    expect(page.locator("#id_v2-title")).to_have_value("Last chance, {{ profile.first_name }}")
