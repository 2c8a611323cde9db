"""The Audience pages: profile search, the profile page and the CSV export."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from playwright.sync_api import expect

from accounts import roles
from conftest import PASSWORD
from segments.models import Device, Event, Profile, ProfileImport, PropertyDefinition
from segments.views import audience as views

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
TOKEN = "fcm-registration-token-0123456789abcdefghijklmnopqrstuvwxyz-SECRETPART-tail1234"
ENDPOINT = "https://fcm.googleapis.com/fcm/send/endpoint-secret-part-0123456789abcdefghijklmnop-end5678"

AUDIENCE_URLS = [
    "/audience/",
    "/audience/profiles/{pk}/",
    "/audience/import/",
    "/audience/imports/{import_pk}/",
    "/audience/export.csv",
]


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def device(profile, platform="android", status=Device.PushStatus.ALLOWED, **fields):
    address = {"endpoint": ENDPOINT} if platform == "web" else {"token": f"{TOKEN}-{Device.objects.count()}"}
    if platform == "web" and Device.objects.filter(endpoint=ENDPOINT).exists():
        address = {"endpoint": f"{ENDPOINT}-{Device.objects.count()}"}
    return Device.objects.create(profile=profile, platform=platform, push_status=status, **(address | fields))


def identities(response):
    return [row["profile"].identity for row in response.context["rows"]]


def export_rows(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("url", AUDIENCE_URLS)
def test_a_viewer_is_refused_every_audience_page(client_as, url):
    profile = Profile.objects.create(identity="u1")
    profile_import = ProfileImport.objects.create(file="imports/x.csv", original_name="x.csv")
    response = client_as(roles.VIEWER).get(url.format(pk=profile.pk, import_pk=profile_import.pk))
    assert response.status_code == 403


@pytest.mark.parametrize("url", AUDIENCE_URLS)
def test_a_marketer_opens_every_audience_page(marketer, url):
    profile = Profile.objects.create(identity="u1")
    profile_import = ProfileImport.objects.create(file="imports/x.csv", original_name="x.csv")
    response = marketer.get(url.format(pk=profile.pk, import_pk=profile_import.pk))
    assert response.status_code == 200


def test_an_empty_audience_says_how_people_arrive(marketer):
    response = marketer.get("/audience/")
    assert b"No profiles yet" in response.content
    assert b'href="/audience/import/"' in response.content


def test_the_list_shows_newest_profiles_first_with_their_details(marketer):
    Profile.objects.create(identity="old", name="Ada", email="ada@example.com", country="France", city="Lyon")
    Profile.objects.create(identity="new", name="Bo", last_seen_at=NOW - timedelta(hours=2))
    response = marketer.get("/audience/")
    assert identities(response) == ["new", "old"]
    html = response.content.decode()
    assert "ada@example.com" in html
    assert "France</a>, Lyon" in html
    assert "2\xa0hours ago" in html


def test_the_search_matches_an_identity_by_prefix(marketer):
    for identity in ("cust-100", "cust-101", "other-100"):
        Profile.objects.create(identity=identity)
    assert sorted(identities(marketer.get("/audience/", {"q": "cust-10"}))) == ["cust-100", "cust-101"]
    assert identities(marketer.get("/audience/", {"q": "100"})) == []


def test_text_shaped_like_an_id_is_looked_up_by_identity_alone(marketer):
    """Only identity has an index for prefix search: text with a digit in it goes
    there alone, so a lookup by id stays quick over a million profiles."""
    Profile.objects.create(identity="room-101", name="Someone")
    Profile.objects.create(identity="x1", name="Room 101")
    assert identities(marketer.get("/audience/", {"q": "room-1"})) == ["room-101"]
    assert identities(marketer.get("/audience/", {"q": "Room 1"})) == []
    assert sorted(identities(marketer.get("/audience/", {"q": "room"}))) == ["room-101", "x1"]


def test_the_search_matches_an_email_by_prefix_whatever_its_case(marketer):
    Profile.objects.create(identity="a", email="Mia.Rossi@example.com")
    Profile.objects.create(identity="b", email="rossi@example.com")
    assert identities(marketer.get("/audience/", {"q": "mia.rossi@"})) == ["a"]
    assert identities(marketer.get("/audience/", {"q": "mia"})) == ["a"]


def test_the_search_matches_a_name_anywhere_in_it(marketer):
    Profile.objects.create(identity="a", name="Maria Rossi")
    Profile.objects.create(identity="b", name="Mario Bianchi")
    assert identities(marketer.get("/audience/", {"q": "ross"})) == ["a"]


def test_the_search_matches_a_phone_number(marketer):
    Profile.objects.create(identity="a", phone="+14155550100")
    Profile.objects.create(identity="b", phone="+442071838750")
    assert identities(marketer.get("/audience/", {"q": "+1415"})) == ["a"]
    assert identities(marketer.get("/audience/", {"q": "5550100"})) == ["a"]


def test_the_country_filter_keeps_that_country(marketer):
    Profile.objects.create(identity="fr", country="France")
    Profile.objects.create(identity="de", country="Germany")
    assert identities(marketer.get("/audience/", {"country": "France"})) == ["fr"]


def test_the_push_filter_separates_reachable_profiles(marketer):
    reachable = Profile.objects.create(identity="reachable")
    device(reachable, "web")
    blocked = Profile.objects.create(identity="blocked")
    device(blocked, "android", Device.PushStatus.BLOCKED)
    retired = Profile.objects.create(identity="retired")
    device(retired, "ios", retired_at=NOW)
    Profile.objects.create(identity="no-device")
    assert identities(marketer.get("/audience/", {"reachable": "yes"})) == ["reachable"]
    assert sorted(identities(marketer.get("/audience/", {"reachable": "no"}))) == ["blocked", "no-device", "retired"]


def test_the_test_profile_filter_shows_only_or_hides_them(marketer):
    Profile.objects.create(identity="tester", is_test=True)
    Profile.objects.create(identity="customer")
    assert identities(marketer.get("/audience/", {"test": "only"})) == ["tester"]
    assert identities(marketer.get("/audience/", {"test": "hide"})) == ["customer"]


def test_a_filter_value_from_a_hand_edited_url_is_ignored(marketer):
    Profile.objects.create(identity="a")
    response = marketer.get("/audience/", {"reachable": "maybe"})
    assert response.status_code == 200
    assert identities(response) == ["a"]


def test_live_search_answers_with_the_results_alone(marketer):
    Profile.objects.create(identity="cust-1")
    Profile.objects.create(identity="other")
    response = marketer.get("/audience/", {"q": "cust"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"')
    assert "<html" not in html
    assert "cust-1" in html
    assert "other" not in html


def test_the_search_box_asks_for_results_as_you_type(marketer):
    html = marketer.get("/audience/").content.decode()
    assert 'hx-trigger="input changed delay:300ms, search"' in html
    assert 'hx-target="#results"' in html


def test_pages_follow_one_another_without_counting_profiles(marketer, monkeypatch):
    monkeypatch.setattr(views, "PER_PAGE", 2)
    for n in range(5):
        Profile.objects.create(identity=f"p{n}")
    with CaptureQueriesContext(connection) as queries:
        first = marketer.get("/audience/")
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert identities(first) == ["p4", "p3"]
    assert first.context["newer"] is None

    second = marketer.get("/audience/", {"after": first.context["older"]})
    assert identities(second) == ["p2", "p1"]
    third = marketer.get("/audience/", {"after": second.context["older"]})
    assert identities(third) == ["p0"]
    assert third.context["older"] is None

    back = marketer.get("/audience/", {"before": third.context["newer"]})
    assert identities(back) == ["p2", "p1"]
    assert identities(marketer.get("/audience/", {"before": back.context["newer"]})) == ["p4", "p3"]


def test_the_devices_column_counts_devices_by_platform_with_their_push_status(marketer):
    person = Profile.objects.create(identity="a")
    device(person, "web", Device.PushStatus.ALLOWED)
    device(person, "web", Device.PushStatus.BLOCKED, browser="firefox")
    device(person, "android", Device.PushStatus.ALLOWED)
    response = marketer.get("/audience/")
    summary = response.context["rows"][0]["devices"]
    assert {s["platform"]: s["count"] for s in summary} == {"Web": 2, "Android": 1}
    web = next(s for s in summary if s["platform"] == "Web")
    assert web["statuses"] == [("Allowed", "ok", 1), ("Blocked", "bad", 1)]
    assert '<span class="badge bad">Blocked</span>' in response.content.decode()


def test_the_profile_page_shows_devices_without_their_full_push_address(marketer):
    person = Profile.objects.create(identity="a")
    web = device(person, "web", browser="chrome", p256dh="P256DH-KEY-VALUE", auth="AUTH-SECRET-VALUE")
    app = device(person, "android", app_version="4.2.0", make="Google", model="Pixel 8", os_version="15")
    html = marketer.get(f"/audience/profiles/{person.pk}/").content.decode()
    assert "Chrome" in html and "Pixel 8" in html and "4.2.0" in html
    for secret in (
        web.endpoint,
        app.token,
        "SECRETPART",
        "endpoint-secret-part",
        "P256DH-KEY-VALUE",
        "AUTH-SECRET-VALUE",
    ):
        assert secret not in html
    assert f"fcm.googleapis.com …{web.endpoint[-8:]}" in html
    assert f"…{app.token[-8:]}" in html


def test_the_profile_page_shows_fields_and_custom_properties(marketer):
    person = Profile.objects.create(
        identity="cust-7",
        name="Ada Lovelace",
        country="United Kingdom",
        city="London",
        timezone="Europe/London",
        properties={"customer_type": "Gold", "vip": True, "tags": ["a", "b"]},
    )
    html = marketer.get(f"/audience/profiles/{person.pk}/").content.decode()
    assert "Ada Lovelace" in html
    assert "London, United Kingdom" in html
    assert "<dt>customer_type</dt><dd>Gold</dd>" in html
    assert "<dt>vip</dt><dd>true</dd>" in html
    assert "<dt>tags</dt><dd>a, b</dd>" in html


def test_the_profile_page_lists_the_latest_50_events_with_their_properties(marketer):
    person = Profile.objects.create(identity="a")
    Event.objects.bulk_create(
        Event(profile=person, name=f"Event {n}", properties={"n": n}, occurred_at=NOW - timedelta(minutes=n))
        for n in range(60)
    )
    response = marketer.get(f"/audience/profiles/{person.pk}/")
    names = [event.name for event in response.context["events"]]
    assert names == [f"Event {n}" for n in range(50)]
    assert "<b>n</b> 49" in response.content.decode()
    assert "Event 50" not in response.content.decode()


def test_the_profile_page_says_whether_push_can_reach_the_person(marketer):
    person = Profile.objects.create(identity="a", email="a@example.com", email_unsubscribed=True)
    device(person, "android", Device.PushStatus.BLOCKED)
    html = marketer.get(f"/audience/profiles/{person.pk}/").content.decode()
    assert "not reachable" in html
    assert '<span class="badge bad">unsubscribed</span>' in html
    device(person, "web")
    assert "reachable</span> on 1 device" in marketer.get(f"/audience/profiles/{person.pk}/").content.decode()


def test_an_unknown_profile_is_not_found(marketer):
    assert marketer.get("/audience/profiles/999999/").status_code == 404


def test_what_people_typed_is_shown_as_text_not_html(marketer):
    person = Profile.objects.create(identity="<script>alert(1)</script>", properties={"<b>": "<img src=x>"})
    assert b"<script>alert(1)" not in marketer.get("/audience/").content
    html = marketer.get(f"/audience/profiles/{person.pk}/").content.decode()
    assert "<script>alert(1)" not in html and "<img src=x>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_export_has_the_import_columns_and_custom_properties(marketer):
    PropertyDefinition.objects.create(scope="profile", name="customer_type", type="string")
    PropertyDefinition.objects.create(scope="event", event_name="Charged", name="amount", type="number")
    Profile.objects.create(identity="a", name="Ada", age=36, is_test=True, properties={"customer_type": "Gold"})
    response = marketer.get("/audience/export.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="profiles-')
    [row] = export_rows(response)
    assert list(row)[:3] == ["identity", "name", "email"]
    assert "properties.amount" not in row
    assert row["identity"] == "a" and row["name"] == "Ada" and row["age"] == "36"
    assert row["is_test"] == "true" and row["email_unsubscribed"] == "false"
    assert row["properties.customer_type"] == "Gold"


def test_the_export_keeps_to_the_search_and_filters(marketer):
    Profile.objects.create(identity="cust-1", country="France")
    Profile.objects.create(identity="cust-2", country="Germany")
    Profile.objects.create(identity="other", country="France")
    rows = export_rows(marketer.get("/audience/export.csv", {"q": "cust", "country": "France"}))
    assert [row["identity"] for row in rows] == ["cust-1"]


def test_the_export_disarms_cells_a_spreadsheet_would_run_as_formulas(marketer):
    PropertyDefinition.objects.create(scope="profile", name="note", type="string")
    Profile.objects.create(
        identity="=HYPERLINK(1)", name="@SUM(A1)", phone="+14155550100", latitude=-33.5, properties={"note": "-2+3"}
    )
    [row] = export_rows(marketer.get("/audience/export.csv"))
    assert row["identity"] == "'=HYPERLINK(1)"
    assert row["name"] == "'@SUM(A1)"
    assert row["phone"] == "'+14155550100"
    assert row["properties.note"] == "'-2+3"
    assert row["latitude"] == "-33.5"  # a number is not a formula


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_typing_in_the_search_box_narrows_the_list_without_reloading_the_page(page, make_user):
    make_user(roles.MARKETER, username="mia")
    Profile.objects.create(identity="cust-1", name="Ada")
    Profile.objects.create(identity="other-2", name="Bo")
    page.goto("/login/?next=/audience/")
    page.get_by_label("Username").fill("mia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    results = page.locator("#results")
    expect(results).to_contain_text("other-2")
    page.evaluate("window.notReloaded = true")

    page.get_by_label("Search").press_sequentially("cust")
    expect(results).not_to_contain_text("other-2")
    expect(results).to_contain_text("cust-1")
    expect(page).to_have_url(re.compile(r"/audience/\?q=cust"))
    page.get_by_label("Test profiles").select_option("only")
    expect(results).to_contain_text("No profiles match")
    assert page.evaluate("window.notReloaded") is True
