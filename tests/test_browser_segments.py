"""The segment builder in headless Chromium: a marketer builds "customer_type is
Gold, lives within 50 km of San Francisco, did Added To Cart at least 2 times in
the last 30 days", sees its reach, and saves it.

The expected reach is counted here in plain Python over the people the test
makes, not through the rule compiler it checks."""

import re
from datetime import timedelta
from math import asin, cos, radians, sin, sqrt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts import roles
from conftest import PASSWORD
from segments.actions.properties import forget_cache, note_properties
from segments.models import Device, Event, Profile, Segment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAN_FRANCISCO = (37.7749, -122.4194)
# (identity, customer_type, city, (lat, lon), days ago of each "Added To Cart", push devices)
PEOPLE = [
    ("ada", "Gold", "San Francisco", (37.7749, -122.4194), [1, 3, 20], ["web"]),
    ("bo", "Gold", "San Francisco", (37.7599, -122.4148), [2, 29], ["android", "ios"]),
    ("cy", "Gold", "Oakland", (37.8044, -122.2712), [5, 6], ["ios"]),  # about 13 km away
    ("di", "Gold", "Oakland", (37.8044, -122.2712), [4, 6, 8], []),  # in, but push cannot reach her
    ("ed", "Gold", "San Francisco", (37.7749, -122.4194), [3], ["web"]),  # only once
    ("flo", "Gold", "San Francisco", (37.7833, -122.4167), [3, 40, 45, 60], ["web"]),  # once in 30 days
    ("gus", "Gold", "San Francisco", (37.7749, -122.4194), [], ["android"]),  # never
    ("hal", "Silver", "San Francisco", (37.7749, -122.4194), [1, 2, 3], ["web"]),
    ("ivy", "Silver", "Oakland", (37.8044, -122.2712), [1, 2], ["android"]),
    ("jo", "Gold", "San Jose", (37.3382, -121.8863), [1, 2, 3], ["web"]),  # about 68 km: outside
    ("kim", "Gold", "San Jose", (37.3382, -121.8863), [2, 9], ["android"]),
    ("lou", "Gold", "Los Angeles", (34.0522, -118.2437), [1, 2], ["ios"]),
    ("max", "Gold", "Los Angeles", (34.0522, -118.2437), [3, 4, 5], ["web"]),
]


def km_between(a, b):
    """Great-circle distance, written out here on purpose (not the compiler's)."""
    (lat1, lon1), (lat2, lon2) = (map(radians, a), map(radians, b))
    h = sin((lat2 - lat1) / 2) ** 2 + cos(lat1) * cos(lat2) * sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * asin(sqrt(h))


def expected_reach():
    chosen = [
        person
        for person in PEOPLE
        if person[1] == "Gold"
        and km_between(person[3], SAN_FRANCISCO) <= 50
        and sum(1 for days in person[4] if days < 30) >= 2
    ]
    on = {channel: sum(1 for p in chosen if channel in p[5]) for channel in ("web", "android", "ios")}
    return len(chosen), on | {"any": sum(1 for p in chosen if p[5])}


@pytest.fixture
def people(db):
    forget_cache()
    now = timezone.now()
    for identity, customer_type, city, (lat, lon), carts, platforms in PEOPLE:
        profile = Profile.objects.create(
            identity=identity,
            properties={"customer_type": customer_type},
            city=city,
            region="California",
            country="United States",
            latitude=lat,
            longitude=lon,
        )
        for days in carts:
            Event.objects.create(profile=profile, name="Added To Cart", occurred_at=now - timedelta(days=days, hours=1))
        for platform in platforms:
            address = (
                {"endpoint": f"https://push.example/{identity}"} if platform == "web" else {"token": f"{identity}"}
            )
            Device.objects.create(profile=profile, platform=platform, push_status="allowed", **address)
    note_properties("profile", [{"customer_type": "Gold"}])
    note_properties("event", [{"price": 10}], event_name="Added To Cart")


def drawn(page):
    """Wait until htmx has sent every request and drawn (and wired up) its answer:
    a field is only live once htmx has processed it, a few milliseconds after the
    swap, and a script is quicker than that."""
    # A function, not an expression: Playwright evals an expression in the page (CSP refuses).
    page.wait_for_function("() => !document.querySelector('.htmx-request,.htmx-swapping,.htmx-settling,.htmx-added')")


def log_in(page, username):
    page.goto("/login/?next=/segments/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/segments/$"))


def test_a_marketer_builds_the_compound_segment_and_sees_its_reach(page, make_user, people):
    qualified, reachable = expected_reach()
    assert (qualified, reachable["any"]) == (4, 3)  # the data above, read by a person: ada, bo, cy, di
    make_user(roles.MARKETER, username="mia")
    log_in(page, "mia")
    page.get_by_role("link", name="New segment").first.click()
    page.get_by_label("Name", exact=True).fill("Gold carts near SF")
    page.evaluate("window.notReloaded = true")

    # customer_type is Gold
    page.get_by_role("button", name="+ Add condition").click()
    drawn(page)
    first = page.get_by_role("group", name="Condition 1")
    expect(first.get_by_label("Condition 1", exact=True)).to_be_focused()
    first.get_by_label("Property").fill("customer_type")
    first.get_by_label("Property").press("Tab")
    drawn(page)
    expect(first.get_by_text("Text", exact=True)).to_be_visible()  # the property's type, from the registry
    first.get_by_label("Operator").select_option(label="equals")
    drawn(page)
    first.get_by_label("Value").click()
    expect(page.locator("#r-0-dl option[value=Gold]")).to_have_count(1)  # suggested from the data
    first.get_by_label("Value").fill("Gold")

    # lives within 50 km of San Francisco, picked from the suggestions
    page.get_by_role("button", name="+ Add condition").click()
    drawn(page)
    second = page.get_by_role("group", name="Condition 2")
    second.get_by_label("Condition 2", exact=True).select_option(label="Near a place")
    drawn(page)
    second.get_by_label("Within (km)").fill("50")
    second.get_by_label("Add a place").press_sequentially("San")
    expect(second.get_by_role("button", name=re.compile("^San Jose"))).to_be_visible()
    second.get_by_role("button", name=re.compile("^San Francisco, California, United States")).click()
    drawn(page)
    expect(second.locator(".place")).to_contain_text("San Francisco, California, United States")

    # did Added To Cart at least 2 times in the last 30 days
    page.get_by_role("button", name="+ Add condition").click()
    drawn(page)
    third = page.get_by_role("group", name="Condition 3")
    third.get_by_label("Condition 3", exact=True).select_option(label="Past behaviour (event)")
    drawn(page)
    third.get_by_label("Event").fill("Added To Cart")
    third.get_by_label("Event").press("Tab")
    drawn(page)
    third.get_by_label("How often").select_option(label="at least")
    drawn(page)
    third.get_by_label("When").select_option(label="in the last … days")
    drawn(page)
    third.get_by_label("Days").fill("30")
    third.get_by_label("Times", exact=True).fill("2")

    expect(page.locator("#reach-qualified")).to_have_attribute("data-count", str(qualified))
    for channel, count in reachable.items():
        expect(page.locator(f"#reach-{channel}")).to_have_attribute("data-count", str(count))
    expect(page.locator(".node-msg .error")).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True
    # For a person to look at; nothing reads it back.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path="/tmp/builder.png", full_page=True)  # noqa: S108

    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gold carts near SF")
    expect(page.get_by_text("Saved “Gold carts near SF”.")).to_be_visible()
    segment = Segment.objects.get()
    # The city picked is where the data puts San Francisco: the mean of its people's positions.
    in_sf = [person[3] for person in PEOPLE if person[2] == "San Francisco"]
    sf_lat, sf_lon = (pytest.approx(sum(axis) / len(in_sf), abs=1e-6) for axis in zip(*in_sf, strict=True))
    assert segment.rules == {
        "match": "all",
        "conditions": [
            {"kind": "property", "name": "customer_type", "op": "equals", "value": "Gold"},
            {
                "kind": "radius",
                "km": 50,
                "places": [{"label": "San Francisco, California, United States", "lat": sf_lat, "lon": sf_lon}],
            },
            {
                "kind": "event",
                "event": "Added To Cart",
                "did": True,
                "count": {"op": "at_least", "value": 2},
                "window": {"type": "last_days", "days": 30},
                "occurrence": "any",
                "filters": [],
            },
        ],
    }
    assert (segment.last_reach, segment.last_reachable) == (qualified, reachable)
    assert segment.owner.username == "mia"


def test_a_bad_condition_is_explained_in_place_and_the_segment_is_not_saved(page, make_user, people):
    make_user(roles.MARKETER, username="mia")
    log_in(page, "mia")
    page.goto("/segments/new/")
    page.get_by_label("Name", exact=True).fill("Nowhere")
    page.get_by_role("button", name="+ Add condition").click()
    drawn(page)
    first = page.get_by_role("group", name="Condition 1")
    first.get_by_label("Condition 1", exact=True).select_option(label="Near a place")
    drawn(page)
    # Enter in the place box adds what was typed (here a point) instead of pressing a button of the form.
    first.get_by_label("Add a place").fill("37.8044, -122.2712")
    first.get_by_label("Add a place").press("Enter")
    drawn(page)
    expect(first.locator(".place")).to_contain_text("37.8044, -122.2712")
    expect(first.get_by_label("Add a place")).to_be_focused()
    near_oakland = sum(1 for person in PEOPLE if km_between(person[3], (37.8044, -122.2712)) <= 50)
    expect(page.locator("#reach-qualified")).to_have_attribute("data-count", str(near_oakland))
    first.get_by_label("Within (km)").fill("-5")
    expect(first.locator(".node-msg")).to_have_text("The radius needs a distance in km, more than 0")
    expect(page.locator("#reach")).to_contain_text("Fix the conditions marked in red")
    page.get_by_role("button", name="Save segment").click()
    drawn(page)
    expect(first.locator(".node-msg")).to_contain_text("The radius needs a distance in km")
    assert not Segment.objects.exists()
