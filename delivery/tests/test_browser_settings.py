"""Settings → Delivery in headless Chromium: the throttle explains itself as it is typed,
the limits save through htmx, and a wrong key is refused beside its box and not shown back."""

import pytest
from playwright.sync_api import expect

from accounts import roles
from conftest import PASSWORD
from delivery.models import DeliverySettings
from tests.pushservices.apns import make_signing_key

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, user):
    page.goto("/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


def test_an_admin_sets_the_throttle_and_an_apns_key(page, make_user):
    log_in(page, make_user(roles.ADMIN))
    page.goto("/settings/")
    limits = page.locator("#delivery-limits")
    limits.locator("input[name=throttle_per_15_min]").fill("100000")
    expect(page.locator("#throttle-hint")).to_have_text(
        "100,000 per 15 min (400,000 an hour). No device can receive push yet."
    )
    limits.locator("input[name=daily_cap]").fill("2")
    limits.locator("input[name=amplification]").check()
    limits.get_by_role("button", name="Save limits").click()
    expect(page.locator("#delivery-limits [role=status]")).to_have_text("Saved.")
    saved = DeliverySettings.load()
    assert (saved.throttle_per_15_min, saved.daily_cap, saved.amplification) == (100_000, 2, True)

    apns = page.locator("#delivery-apns")
    apns.locator("input[name=team_id]").fill("TEAM123456")
    apns.locator("input[name=key_id]").fill("KEY1234567")
    apns.locator("input[name=topic]").fill("com.example.shop")
    key = make_signing_key()
    apns.locator("textarea[name=private_key]").fill(key[:120])  # half a paste
    apns.get_by_role("button", name="Save APNs credentials").click()
    expect(page.locator("#delivery-apns .error")).to_contain_text("not a PEM private key")
    expect(page.locator("#delivery-apns textarea[name=private_key]")).to_have_value("")
    page.locator("#delivery-apns textarea[name=private_key]").fill(key)
    page.locator("#delivery-apns").get_by_role("button", name="Save APNs credentials").click()
    expect(page.locator("#delivery-apns")).to_contain_text("Key KEY1234567 of team TEAM123456")
    assert key.splitlines()[2] not in page.content()
    assert DeliverySettings.load().apns_private_key == key.strip() + "\n"
