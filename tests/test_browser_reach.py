"""The estimated reach in headless Chromium: every edit of the rules recounts, in the
Who step of the campaign wizard and in the segment builder alike, without pressing
"Count again" — typing a value, changing a select, ticking a box, adding or removing
a condition, switching all to any. After each edit the number shown must be a fresh
count, taken here from the database with segments' own count function.

Issue 14 found it stale: customer_type equals Gold (591), add Gender = Male, still
591; switch to any, still 277; only typing recounted."""

import contextlib
import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from accounts import roles
from campaigns.actions.drafts import do_create_draft
from conftest import PASSWORD
from segments.actions.properties import forget_cache, note_properties
from segments.actions.reach import estimate_reach
from segments.models import Device, Profile, Segment
from segments.rules import RuleError, parse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TYPES = ("Gold", "Gold", "Gold", "Silver", "Silver", "Bronze")
GENDERS = ("male", "female", "male", "other")
GOLD = {"match": "all", "conditions": [{"kind": "property", "name": "customer_type", "op": "equals", "value": "Gold"}]}


@pytest.fixture
def audience(db):
    """300 people: half Gold, a third Silver, the rest Bronze; genders mixed across
    them; a third with web push."""
    forget_cache()
    Profile.objects.bulk_create(
        Profile(identity=f"p{i}", properties={"customer_type": TYPES[i % 6]}, gender=GENDERS[i % 4]) for i in range(300)
    )
    Device.objects.bulk_create(
        Device(profile=profile, platform="web", push_status="allowed", endpoint=f"https://push.example/{profile.pk}")
        for profile in Profile.objects.all()[::3]
    )
    note_properties("profile", [{"customer_type": "Gold"}])


def fresh_reach(rules):
    """The reach segments count for ``rules`` now, or None when they are not valid yet."""
    try:
        return estimate_reach(parse(rules))
    except RuleError:
        return None


def drawn(page):
    """Wait until htmx has sent every request and drawn (and wired up) its answer."""
    # A function, not an expression: Playwright evals an expression in the page (CSP refuses).
    page.wait_for_function("() => !document.querySelector('.htmx-request,.htmx-swapping,.htmx-settling,.htmx-added')")


def shows_fresh_reach(page, rules, shown_before):
    """The panel shows the count of ``rules`` (or, for rules not valid yet, no number)
    and is not counting any more. Returns the number now shown."""
    reach = fresh_reach(rules)
    qualified = page.locator("#reach-qualified")
    if reach is None:
        expect(qualified).to_have_count(0)
    else:
        # Each edit changes the count, so an old number can never pass for the new one.
        assert reach.qualified != shown_before, rules
        expect(qualified).to_have_attribute("data-count", str(reach.qualified))
        expect(page.locator("#reach-web")).to_have_attribute("data-count", str(reach.reachable["web"]))
        expect(page.locator("#reach .reach-status")).to_have_text(re.compile(r"^counted \d\d:\d\d$"))
    expect(page.locator("#reach")).not_to_have_attribute("aria-busy", "true")
    return reach.qualified if reach else None


def edit_every_way(page):
    """Every kind of edit, each followed by the check, from "customer_type equals Gold"."""
    first = page.get_by_role("group", name="Condition 1")
    rules = {"match": "all", "conditions": [dict(GOLD["conditions"][0])]}
    shown = shows_fresh_reach(page, rules, None)

    first.get_by_label("Value").fill("Silver")  # type a value
    rules["conditions"][0]["value"] = "Silver"
    shown = shows_fresh_reach(page, rules, shown)

    first.get_by_label("Operator").select_option("not_equals")  # change a select
    rules["conditions"][0]["op"] = "not_equals"
    shown = shows_fresh_reach(page, rules, shown)
    drawn(page)

    page.get_by_role("button", name="+ Add condition").click()  # add a condition
    rules["conditions"].append({"kind": "property", "name": "", "op": "equals", "value": ""})
    shown = shows_fresh_reach(page, rules, shown)
    drawn(page)

    second = page.get_by_role("group", name="Condition 2")
    second.get_by_label("Condition 2", exact=True).select_option("gender")
    rules["conditions"][1] = {"kind": "gender", "values": []}
    shown = shows_fresh_reach(page, rules, shown)
    drawn(page)

    second.get_by_label("Male", exact=True).check()  # tick a checkbox
    rules["conditions"][1]["values"] = ["male"]
    shown = shows_fresh_reach(page, rules, shown)
    drawn(page)

    page.get_by_label("People who match").first.select_option("any")  # switch all → any
    rules["match"] = "any"
    shown = shows_fresh_reach(page, rules, shown)
    drawn(page)

    page.get_by_role("button", name="Remove condition 2").click()  # remove a condition
    del rules["conditions"][1]
    shows_fresh_reach(page, rules, shown)


def log_in(page, username, then):
    page.goto(f"/login/?next={then}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(f"{re.escape(then)}$"))
    drawn(page)


def test_every_edit_in_the_who_step_recounts_the_reach(page, make_user, audience):
    mia = make_user(roles.MARKETER, username="mia")
    campaign = do_create_draft(name="Spring sale", channel="web_push", kind="one_time", owner=mia)
    campaign.segment = Segment.objects.create(name="Spring sale (ad hoc)", rules=GOLD, is_adhoc=True)
    campaign.save(update_fields=["segment"])
    log_in(page, "mia", f"/campaigns/{campaign.pk}/who/")
    expect(page.get_by_label("A segment built here")).to_be_checked()
    edit_every_way(page)


def test_every_edit_in_the_segment_builder_recounts_the_reach(page, make_user, audience):
    make_user(roles.MARKETER, username="mia")
    gold = Segment.objects.create(name="Gold", rules=GOLD)
    log_in(page, "mia", f"/segments/{gold.pk}/")
    edit_every_way(page)


def test_a_late_answer_never_replaces_a_newer_count_and_the_old_number_says_it_is_counting(page, make_user, audience):
    make_user(roles.MARKETER, username="mia")
    gold = Segment.objects.create(name="Gold", rules=GOLD)
    held = []

    def hold_the_count_for_silver(route):
        body = route.request.post_data or ""
        if route.request.method == "POST" and "r.0.value=Silver" in body and not held:
            held.append(route)
        else:
            route.continue_()

    log_in(page, "mia", f"/segments/{gold.pk}/")
    gold_count = estimate_reach(parse(GOLD)).qualified
    expect(page.locator("#reach-qualified")).to_have_attribute("data-count", str(gold_count))
    page.route(f"**/segments/{gold.pk}/", hold_the_count_for_silver)
    value = page.get_by_role("group", name="Condition 1").get_by_label("Value")

    with page.expect_request(lambda request: "r.0.value=Silver" in (request.post_data or "")):
        value.fill("Silver")
    expect(page.locator("#reach")).to_have_attribute("aria-busy", "true")
    expect(page.locator("#reach")).to_have_class(re.compile(r"\bis-counting\b"))
    expect(page.locator("#reach .reach-status")).to_have_text("counting…")
    expect(page.locator("#reach-qualified")).to_have_attribute("data-count", str(gold_count))  # the old one, marked
    assert len(held) == 1

    value.fill("Bronze")
    bronze = {"match": "all", "conditions": [{**GOLD["conditions"][0], "value": "Bronze"}]}
    shows_fresh_reach(page, bronze, gold_count)
    # The answer for Silver, after Bronze's. The page has cancelled it, so Playwright may refuse to send it on.
    with contextlib.suppress(PlaywrightError):
        held[0].continue_()
    page.evaluate("() => new Promise(resolve => setTimeout(resolve, 300))")
    shows_fresh_reach(page, bronze, gold_count)
