"""The dashboard shell in a real browser: log in, navigate, and an htmx form."""

import re

import pytest
from playwright.sync_api import expect

from accounts import roles
from accounts.roles import role_of
from conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, username):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/$"))


def test_an_admin_logs_in_and_changes_a_role_through_htmx(page, make_user):
    make_user(roles.ADMIN, username="ada")
    victor = make_user(roles.VIEWER, username="victor")
    log_in(page, "ada")
    nav = page.get_by_role("navigation", name="Main")
    for label in ["Campaigns", "Segments", "Audience", "Stats", "Settings"]:
        expect(nav.get_by_role("link", name=label)).to_be_visible()
    # The worker panel loads itself with an htmx GET.
    expect(page.locator("#system-status")).to_contain_text("No worker has answered yet")

    nav.get_by_role("link", name="Settings").click()
    page.get_by_label("Role of victor").select_option("Marketer")
    # The select posts with htmx; only the X-CSRFToken header from <body hx-headers>
    # lets that POST through Django's CSRF check.
    expect(page.locator(f"#user-{victor.pk}")).to_contain_text("saved")
    victor.refresh_from_db()
    assert role_of(victor) == roles.MARKETER


def test_an_admin_sees_why_they_cannot_demote_themselves(page, make_user):
    make_user(roles.ADMIN, username="ada")
    log_in(page, "ada")
    page.goto("/settings/")
    page.get_by_label("Role of ada").select_option("Viewer")
    expect(page.get_by_role("alert")).to_have_text("You cannot remove your own Admin role; ask another Admin.")


def test_a_viewer_sees_only_campaigns_and_stats(page, make_user):
    make_user(roles.VIEWER, username="vera")
    log_in(page, "vera")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(["Campaigns", "Stats"])
    page.goto("/segments/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your role cannot open this page")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
