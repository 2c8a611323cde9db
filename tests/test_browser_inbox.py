"""Clarion.inbox() on the demo site, in headless Chromium: the browser identified as Ada (with
the hash the demo's server signs) lists her App Inbox, marks an item read and removes it
through the real SDK, fetch and CORS; a browser never identified gets a rejection."""

import pytest
from playwright.sync_api import expect

from delivery.actions.dispatches import do_create_dispatch, do_enqueue, do_start
from delivery.models import InboxItem
from segments.models import Profile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def demo_site_on(settings):
    settings.DEMO_SITE = True


def identify(page, identity):
    page.get_by_label("Identify as").select_option(identity)
    page.get_by_role("button", name="Identify").click()
    expect(page.locator("#identified-as")).to_have_text(identity)


def copy_to(profile):
    device = profile.devices.get()
    contents = {"A": {"title": "Hi {{ profile.name }}", "body": "<img src=x onerror=alert(1)>", "inbox": {}}}
    dispatch = do_create_dispatch(channel="web_push", label="News", contents=contents)
    do_enqueue(dispatch, [(profile.pk, device.pk, "A")])
    do_start(dispatch)
    return InboxItem.objects.get(dispatch=dispatch)


def test_the_identified_browser_reads_marks_and_removes_its_inbox(page):
    page.goto("/demo/site/")
    identify(page, "ada")
    ada = Profile.objects.get(identity="ada")
    item = copy_to(ada)

    listing = page.evaluate("Clarion.inbox()")

    assert listing["unread"] == 1
    [shown] = listing["items"]
    assert shown["id"] == item.pk
    assert shown["title"] == f"Hi {ada.name}"
    assert shown["body"] == "<img src=x onerror=alert(1)>"
    read = page.evaluate(f"Clarion.inbox.read({item.pk})")
    assert read["read"] is True
    assert page.evaluate(f"Clarion.inbox.remove({item.pk})") == {"deleted": True}
    assert page.evaluate("Clarion.inbox()")["items"] == []
    item.refresh_from_db()
    assert item.read_at is not None and item.deleted_at is not None


def test_a_browser_not_identified_gets_a_rejection(page):
    page.goto("/demo/site/")
    expect(page.locator("#push-status")).not_to_have_text("")
    refused = page.evaluate("Clarion.inbox().then(() => 'listed', (error) => error.message)")
    assert "identify" in refused
