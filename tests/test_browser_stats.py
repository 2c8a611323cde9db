"""A finished demo campaign's stats in headless Chromium: the counters and trend chart, day /
week / month switched with htmx (and the URL kept), the Errors tab, and a CSV download."""

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accounts import roles
from campaigns.models import Campaign
from conftest import PASSWORD
from delivery.models import Message
from stats.actions.rollup import do_roll_up

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def settle(page):
    # A function, not an expression: Playwright evals an expression in the page (CSP refuses).
    page.wait_for_function("() => !document.querySelector('.htmx-request,.htmx-swapping,.htmx-settling,.htmx-added')")


def test_a_viewer_reads_a_finished_campaigns_stats(page, make_user):
    call_command("seed_demo", profiles=300, stdout=io.StringIO())
    do_roll_up()
    campaign = Campaign.objects.get(status=Campaign.Status.COMPLETED)
    messages = Message.objects.filter(dispatch__run__campaign=campaign)
    viewed = messages.filter(viewed_at__isnull=False).count()
    clicked = messages.filter(clicked_at__isnull=False).count()
    failed = messages.filter(status=Message.Status.FAILED).count()
    assert viewed and clicked and failed  # the demo run has something of each to show

    viewer = make_user(roles.VIEWER)
    page.goto(f"/login/?next=/campaigns/{campaign.pk}/")
    page.get_by_label("Username").fill(viewer.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # The campaign page's own Stats link, by its id: "the last Stats link" could be the
    # navigation's while the page is still being parsed (the header comes first).
    page.locator("#stats-link").click()

    expect(page.locator("#numbers [data-count=viewed]")).to_have_text(str(viewed))
    expect(page.locator("#numbers [data-count=clicked]")).to_have_text(str(clicked))
    expect(page.locator("[data-counter=ctr]")).to_have_text(f"{clicked * 100 / viewed:.2f} %")
    chart = page.locator("#trend-chart")
    expect(chart).to_have_attribute("data-period", "day")
    expect(chart.locator("polyline")).to_have_count(3)

    page.evaluate("window.notReloaded = true")  # htmx swaps: the page itself is never reloaded
    for period in ("week", "month", "day"):
        page.locator(f".periods a[data-period={period}]").click()
        settle(page)
        expect(page.locator("#trend-chart")).to_have_attribute("data-period", period)
        expect(page).to_have_url(f"{page.url.split('?')[0]}?period={period}")
    assert page.evaluate("window.notReloaded") is True

    page.get_by_role("link", name="Errors").click()
    settle(page)
    row = page.locator("#errors tbody tr", has_text="token_invalid")
    expect(row).to_contain_text(str(failed))
    expect(row).to_contain_text("keys are invalid")

    with page.expect_download() as download:
        page.locator("#errors").get_by_role("link", name="CSV").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert rows[0] == ["code", "kind", "status", "count", "meaning"]
    assert rows[1][:4] == ["token_invalid", "technical", "failed", str(failed)]
