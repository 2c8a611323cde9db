"""Every page under the Content-Security-Policy in headless Chromium: the dashboard, each
wizard step of a draft, the stats tabs, the admin, the API docs and the demo site load
with the policy's header and without one violation.

A violation is seen twice over: the page's ``securitypolicyviolation`` events (recorded
from before any script of the page runs) and Chromium's console lines that name the Content Security Policy.
One browser, one logged-in context, one walk through the list: CI's time matters."""

import io
import logging
import time

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from accounts import roles
from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign, PushResource
from conftest import PASSWORD
from segments.models import Profile, ProfileImport, Segment, Site
from stats.actions.rollup import do_roll_up
from tests.browser import RECORD_CSP_VIOLATIONS, accessibility_problems

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Marketers' images are https URLs from anywhere; the browser has no network here, so
# they fail to load, but the policy is asked first and must let them through.
IMAGE = "https://images.example.com/summer.png"
TABS = 5  # pages open at once: enough to overlap the waits, few enough for two cores


def wizard_steps(campaign):
    return [f"/campaigns/{campaign.pk}/{step}/" for step in ("who", "when", "what", "setup", "overview")]


def pages(admin, draft, exit_intent, completed, running, segment, profile, profile_import):
    return [
        "/",
        "/segments/",
        "/segments/new/",
        f"/segments/{segment.pk}/",
        f"/segments/{segment.pk}/delete/",
        "/audience/",
        f"/audience/profiles/{profile.pk}/",
        "/audience/import/",
        f"/audience/imports/{profile_import.pk}/",
        "/campaigns/",
        "/campaigns/new/",
        "/campaigns/resources/",
        *wizard_steps(draft),
        f"/campaigns/{exit_intent.pk}/who/",  # its websites and targeting, first-come cap words
        f"/campaigns/{exit_intent.pk}/when/",  # a pop-up's DND hours and cut-off
        f"/campaigns/{exit_intent.pk}/what/",
        f"/campaigns/{completed.pk}/",
        f"/campaigns/{running.pk}/",
        "/stats/",
        f"/stats/campaigns/{completed.pk}/",
        f"/stats/campaigns/{completed.pk}/?period=week",
        f"/stats/campaigns/{completed.pk}/?tab=errors",
        "/settings/",
        "/settings/delivery/",
        "/admin/",
        "/admin/campaigns/campaign/",
        f"/admin/campaigns/campaign/{draft.pk}/change/",
        "/admin/segments/profile/",
        f"/admin/segments/profile/{profile.pk}/change/",
        f"/admin/auth/user/{admin.pk}/change/",
        "/api/docs",
        "/demo/site/",
    ]


def test_no_page_breaks_the_content_security_policy(browser, live_server, make_user, settings):
    settings.DEMO_SITE = True  # production settings (DEBUG=0) otherwise hide the demo site
    call_command("seed_demo", profiles=40, stdout=io.StringIO())
    do_roll_up()
    draft = Campaign.objects.get(status=Campaign.Status.DRAFT, channel=Campaign.Channel.WEB_PUSH)
    draft.variants.update(content={"title": "Summer", "body": "Soon", "image": IMAGE, "icon": IMAGE})
    admin = make_user(roles.ADMIN)
    exit_intent = do_create_draft(name="Leaving?", channel=Campaign.Channel.EXIT_INTENT, kind="one_time", owner=admin)
    exit_intent.variants.update(content={"title": "Wait", "button_text": "Show me", "image": IMAGE})
    completed = Campaign.objects.get(status=Campaign.Status.COMPLETED)
    running = Campaign.objects.get(status=Campaign.Status.RUNNING)
    segment = Segment.objects.filter(is_adhoc=False).first()
    profile = Profile.objects.first()
    profile_import = ProfileImport.objects.create(
        file="imports/people.csv",
        original_name="people.csv",
        status=ProfileImport.Status.DONE,
        total_rows=2,
        processed_rows=2,
        errors=[{"row": 2, "field": "email", "reason": "not an email address"}],
        finished_at=timezone.now(),
    )
    Site.objects.create(name="Shop", allowed_origins=["https://shop.example.com"])  # its identity secret box
    # A saved push: its list row, and the What step's "Start from a saved push" select.
    PushResource.objects.create(name="Gold", channel="web_push", content={"title": "Gold", "body": "20% off"})

    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    watch = Watch(context)
    try:
        page = watch.open("/login/")
        page.get_by_label("Username").fill(admin.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()

        # The copy boxes' onclick became a listener in a static file: one click still selects
        # the whole key, also in the API-key box that an htmx swap brings in.
        watch.path_of[page] = "/settings/ (new API key)"
        page.goto("/settings/")
        page.get_by_label("Name", exact=True).first.fill("CI")
        page.get_by_role("button", name="Create key").click()
        key_box = page.get_by_label("New API key")
        key_box.click()
        assert key_box.evaluate("box => box.selectionStart === 0 && box.selectionEnd === box.value.length")
        page.close()

        watch.visit(pages(admin, draft, exit_intent, completed, running, segment, profile, profile_import))
    finally:
        context.close()
    assert watch.problems == [], "\n".join(watch.problems)


def test_the_browser_reports_a_violation_and_clarion_logs_it(browser, live_server, caplog):
    context = browser.new_context(base_url=live_server.url)
    try:
        page = context.new_page()
        page.goto("/login/")
        with caplog.at_level(logging.WARNING, logger="clarion.csp"):
            page.evaluate("document.head.insertAdjacentHTML('beforeend', '<style>main { color: red }</style>')")
            deadline = time.monotonic() + 10
            while not caplog.records and time.monotonic() < deadline:
                page.wait_for_timeout(100)  # the report is posted in the background
    finally:
        context.close()
    [record] = caplog.records
    assert "effective-directive='style-src-elem'" in record.getMessage()
    assert "/login/" in record.getMessage()


class Watch:
    """What the policy refused, by page: the page's securitypolicyviolation events (recorded by
    an init script, so before any of its own scripts run) and Chromium's console lines."""

    def __init__(self, context):
        self.context, self.problems, self.path_of = context, [], {}
        context.expose_binding("cspViolation", self.violation)
        context.add_init_script(RECORD_CSP_VIOLATIONS)

    def violation(self, source, v):
        path = self.path_of.get(source["page"], v["page"])
        self.problems.append(f"{path}: {v['directive']} refused {v['blocked']} at {v['source']}:{v['line']}")

    def open(self, path):
        tab = self.context.new_page()
        self.path_of[tab] = path
        tab.on("console", lambda message: self.console(tab, message.text))
        tab.goto(path, wait_until="commit")
        return tab

    def console(self, tab, text):
        if "Content Security Policy" in text:
            self.problems.append(f"{self.path_of.get(tab)}: {text}")

    def visit(self, paths):
        """Each page, a few tabs at a time: each waits for the network to be quiet (htmx
        fragments, the SDK's calls and Swagger UI's spec load after "load"), and the tabs
        wait out that half second of quiet side by side."""
        for first in range(0, len(paths), TABS):
            opened = []
            for path in paths[first : first + TABS]:
                tab = self.context.new_page()
                self.path_of[tab] = path
                tab.on("console", lambda message, tab=tab: self.console(tab, message.text))
                opened.append((path, tab, tab.goto(path, wait_until="commit")))
            for path, tab, response in opened:
                assert response.ok, f"{path} answered {response.status}"
                assert "content-security-policy" in response.headers, f"{path} has no Content-Security-Policy"
                tab.wait_for_load_state("networkidle")
                self.problems += accessibility_problems(tab)  # axe-core, as the page fixture does (tests/browser.py)
            for _, tab, _ in opened:
                tab.close()
