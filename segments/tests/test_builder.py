"""The segment builder: its fields ↔ rule JSON (segments/forms/builder.py), and the
segment pages that draw it (segments/views/segments.py)."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts import roles
from segments.actions.properties import forget_cache, note_properties
from segments.forms.builder import Types, read_form
from segments.forms.builder_display import display, form_from_rules, walk
from segments.models import Device, Event, Profile, Segment

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TYPES = Types(
    profile={"customer_type": "string", "ltv": "number", "vip": "boolean", "since": "date", "tags": "list"},
    event={("Added To Cart", "price"): "number", ("Added To Cart", "currency"): "string"},
)
GOLD = {"kind": "property", "name": "customer_type", "op": "equals", "value": "Gold"}
SF = {"label": "San Francisco, California, United States", "lat": 37.7749, "lon": -122.4194}
CART = {
    "kind": "event",
    "event": "Added To Cart",
    "did": True,
    "count": {"op": "at_least", "value": 2},
    "window": {"type": "last_days", "days": 30},
    "occurrence": "any",
    "filters": [],
}


def rules(*conditions, match="all"):
    return {"match": match, "conditions": list(conditions)}


def read(fields, action="", **options):
    return read_form(fields, types=TYPES, action=action, **options)


# Fields → rules → fields, for every kind of condition.

ONE_OF_EACH = {
    "text equals": GOLD,
    "text in a list": {"kind": "property", "name": "customer_type", "op": "in", "values": ["Gold", "Silver"]},
    "text starts with": {"kind": "property", "name": "customer_type", "op": "starts_with", "value": "Go"},
    "number between": {"kind": "property", "name": "ltv", "op": "between", "min": 10, "max": 120.5},
    "date after": {"kind": "property", "name": "since", "op": "greater", "value": "2025-01-01"},
    "boolean": {"kind": "property", "name": "vip", "op": "equals", "value": False},
    "is set": {"kind": "property", "name": "tags", "op": "is_set"},
    "a property nobody has yet": {"kind": "property", "name": "future", "op": "not_equals", "value": "x"},
    "age": {"kind": "age", "min": 25, "max": 40},
    "gender": {"kind": "gender", "values": ["female", "other"]},
    "country": {"kind": "geo", "field": "country", "op": "not_in", "values": ["France", "United States"]},
    "radius": {"kind": "radius", "km": 50, "places": [SF, {"label": "48.85, 2.35", "lat": 48.85, "lon": 2.35}]},
    "has no email": {"kind": "reachability", "check": "has_email", "value": False},
    "push on iOS": {"kind": "reachability", "check": "push_reachable", "value": True, "channel": "ios"},
    "app version": {"kind": "app_field", "field": "app_version", "op": "starts_with", "value": "2."},
    "device make in": {"kind": "app_field", "field": "make", "op": "in", "values": ["Apple", "Samsung"]},
    "did an event": CART,
    "did not, between dates, with filters": CART
    | {
        "did": False,
        "count": {"op": "exactly", "value": 0},
        "window": {"type": "between", "start": "2026-01-01", "end": "2026-01-31"},
        "filters": [
            {"name": "price", "op": "greater", "value": 20},
            {"name": "currency", "op": "in", "values": ["EUR", "USD"]},
        ],
    },
    "first time, ever": CART
    | {"count": {"op": "at_least", "value": 1}, "window": {"type": "ever"}, "occurrence": "first"},
    "live event": {
        "kind": "live_event",
        "event": "Added To Cart",
        "filters": [{"name": "price", "op": "between", "min": 10, "max": 99}],
    },
}


@pytest.mark.parametrize("condition", ONE_OF_EACH.values(), ids=ONE_OF_EACH.keys())
def test_a_condition_survives_the_round_trip_through_the_form(condition):
    edit = read(form_from_rules(rules(condition)))
    assert edit.rules == rules(condition)
    assert edit.errors == {}


def test_nested_groups_survive_the_round_trip():
    nested = rules(GOLD, rules(CART, rules(ONE_OF_EACH["age"], match="none"), match="any"))
    assert read(form_from_rules(nested)).rules == nested


def test_fields_are_named_after_the_conditions_path():
    fields = form_from_rules(rules(GOLD, rules(CART, match="any")))
    assert fields["r.match"] == "all"
    assert (fields["r.0.kind"], fields["r.0.name"], fields["r.0.op"], fields["r.0.value"]) == (
        "property",
        "customer_type",
        "equals",
        "Gold",
    )
    assert fields["r.1.match"] == "any"
    assert (fields["r.1.0.event"], fields["r.1.0.count_op"], fields["r.1.0.count"]) == (
        "Added To Cart",
        "at_least",
        "2",
    )


# What the buttons do.


def test_adding_a_condition_appends_an_empty_one_and_focuses_it():
    edit = read(form_from_rules(rules(GOLD)), "add-condition r")
    assert edit.rules == rules(GOLD, {"kind": "property", "name": "", "op": "equals", "value": ""})
    assert edit.focus == "r-1-kind"


def test_adding_a_group_nests_one_with_a_condition():
    edit = read(form_from_rules(rules(GOLD)), "add-group r")
    assert edit.rules["conditions"][1]["match"] == "all"
    assert len(edit.rules["conditions"][1]["conditions"]) == 1


def test_groups_nest_three_deep_at_most():
    deep = rules(rules(rules(GOLD)))
    assert read(form_from_rules(deep), "add-group r.0.0").rules == deep


def test_a_hand_made_post_nesting_groups_deeper_is_refused():
    fields = {"r.match": "all"} | {"r" + ".0" * level + ".match": "all" for level in range(1, 900)}
    edit = read(fields)
    assert edit.errors == {"0.0.0": "groups go 2 deep at most"}


def test_removing_a_condition_renumbers_the_others():
    fields = form_from_rules(rules(GOLD, CART, ONE_OF_EACH["age"]))
    edit = read(fields, "remove r.1")
    assert edit.rules == rules(GOLD, ONE_OF_EACH["age"])
    assert edit.focus == "r-add"
    assert read(form_from_rules(edit.rules)).rules == edit.rules


def test_removing_a_nested_group_removes_its_conditions():
    fields = form_from_rules(rules(GOLD, rules(CART, ONE_OF_EACH["age"], match="any")))
    assert read(fields, "remove r.1").rules == rules(GOLD)


def test_changing_the_kind_starts_the_condition_afresh():
    fields = form_from_rules(rules(GOLD)) | {"r.0.kind": "event"}
    edit = read(fields)
    assert edit.rules["conditions"][0] == CART | {"event": "", "count": {"op": "at_least", "value": 1}}


def test_event_filters_are_added_and_removed():
    fields = form_from_rules(rules(CART))
    edit = read(fields, "add-filter r.0")
    assert edit.rules["conditions"][0]["filters"] == [{"name": "", "op": "equals", "value": ""}]
    assert edit.focus == "r-0-f-0-name"
    with_two = ONE_OF_EACH["did not, between dates, with filters"]
    edit = read(form_from_rules(rules(with_two)), "remove-filter r.0 0")
    assert edit.rules["conditions"][0]["filters"] == with_two["filters"][1:]


def test_a_place_is_added_from_a_suggestion_and_removed():
    fields = form_from_rules(rules({"kind": "radius", "km": 50, "places": []}))
    edit = read(fields, f"add-place r.0 37.7749 -122.4194 {SF['label']}")
    assert edit.rules["conditions"][0]["places"] == [SF]
    assert read(form_from_rules(edit.rules), "remove-place r.0 0").rules["conditions"][0]["places"] == []


def test_a_place_typed_and_entered_is_looked_up():
    fields = form_from_rules(rules({"kind": "radius", "km": 50, "places": []}))
    found = read(fields | {"r.0.place_query": "San Francisco"}, "apply", find_place=lambda text: SF)
    assert found.rules["conditions"][0]["places"] == [SF]
    missing = read(fields | {"r.0.place_query": "Atlantis"}, "apply", find_place=lambda text: None)
    assert missing.rules["conditions"][0]["places"] == []
    assert "No place called 'Atlantis'" in missing.errors["0"]
    # While typing, the box is only a search: nothing is looked up.
    assert read(fields | {"r.0.place_query": "San"}, "estimate", find_place=lambda text: SF).rules == rules(
        {"kind": "radius", "km": 50, "places": []}
    )


def test_a_window_shown_for_the_first_time_gets_its_default():
    fields = form_from_rules(rules(CART | {"window": {"type": "ever"}})) | {"r.0.window": "last_days"}
    del fields["r.0.days"]
    assert read(fields).rules["conditions"][0]["window"] == {"type": "last_days", "days": 30}


# Operators by type, and values typed as their property.


def test_operators_are_offered_by_the_property_type():
    shown = display(
        rules(
            GOLD,
            {"kind": "property", "name": "ltv", "op": "equals", "value": 3},
            {"kind": "property", "name": "vip", "op": "equals", "value": True},
            {"kind": "property", "name": "since", "op": "less", "value": "2025-01-01"},
        ),
        types=TYPES,
    )
    text, number, boolean, _ = ([op for op, _ in node["ops"]] for node in shown["children"])
    assert text == ["equals", "not_equals", "contains", "starts_with", "in", "is_set", "is_not_set"]
    assert number == ["equals", "not_equals", "greater", "less", "between", "is_set", "is_not_set"]
    assert boolean == ["equals", "is_set", "is_not_set"]
    assert dict(shown["children"][3]["ops"])["less"] == "is before"
    assert [node["type_label"] for node in shown["children"]] == ["Text", "Number", "Yes / no", "Date"]


def test_an_operator_the_new_type_does_not_have_falls_back_to_equals():
    fields = form_from_rules(rules(GOLD | {"op": "contains"})) | {"r.0.name": "ltv", "r.0.value": "3"}
    assert read(fields).rules["conditions"][0] == {"kind": "property", "name": "ltv", "op": "equals", "value": 3}


def test_a_word_where_a_number_is_needed_is_reported_at_its_condition():
    fields = form_from_rules(rules(GOLD, rules(GOLD, {"kind": "property", "name": "ltv", "op": "equals", "value": 1})))
    edit = read(fields | {"r.1.1.value": "lots"})
    assert edit.errors == {"1.1": "'ltv' holds numbers: enter one such as 42 or 9.99"}


def test_the_display_tree_carries_errors_notes_and_focus_to_their_nodes():
    shown = display(
        rules(GOLD, rules(CART)), types=TYPES, errors={"1.0": "bad"}, notes={"0": "note"}, focus="r-1-0-f-0-name"
    )
    by_path = {node["path"]: node for node in walk(shown)}
    assert by_path["1.0"]["error"] == "bad"
    assert by_path["0"]["note"] == "note"
    assert by_path["1.0"]["focus"] == "f-0-name"
    assert by_path["1"]["focus"] == ""
    assert [node["id"] for node in walk(shown)] == ["r", "r-0", "r-1", "r-1-0"]


# The pages.


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def audience(db):
    """Two Gold customers (one reachable on web, one on Android) and a Silver one."""
    forget_cache()
    web = Profile.objects.create(identity="gold-web", properties={"customer_type": "Gold"}, city="San Francisco")
    Device.objects.create(profile=web, platform="web", push_status="allowed", endpoint="https://push.example/1")
    app = Profile.objects.create(identity="gold-app", properties={"customer_type": "Gold"}, city="Oakland")
    Device.objects.create(profile=app, platform="android", push_status="allowed", token="t-1")
    Profile.objects.create(identity="silver", properties={"customer_type": "Silver"}, city="San Jose")
    Event.objects.create(profile=web, name="Added To Cart", occurred_at=NOW - timedelta(days=1))
    note_properties("profile", [{"customer_type": "Gold"}])


def post(client, url, rules_, action="apply", htmx=True, **details):
    data = form_from_rules(rules_) | {"action": action, "name": "", "description": ""} | details
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(url, data, headers=headers)


def message_of(response, node_id):
    found = re.search(rf'id="{node_id}-msg"[^>]*>(.*?)</div>', response.content.decode(), re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1))).strip()) if found else None


PAGES = ["/segments/", "/segments/new/", "/segments/{pk}/", "/segments/{pk}/delete/", "/segments/suggest/?what=values"]


@pytest.mark.parametrize("url", PAGES)
def test_a_viewer_is_refused_every_segment_page(client_as, url):
    segment = Segment.objects.create(name="Gold", rules=rules(GOLD))
    client = client_as(roles.VIEWER)
    assert client.get(url.format(pk=segment.pk)).status_code == 403
    assert client.post(url.format(pk=segment.pk)).status_code == 403
    assert Segment.objects.filter(pk=segment.pk).exists()


@pytest.mark.parametrize("url", PAGES)
def test_a_marketer_opens_every_segment_page(marketer, url):
    segment = Segment.objects.create(name="Gold", rules=rules(GOLD))
    assert marketer.get(url.format(pk=segment.pk)).status_code == 200


def test_the_list_shows_saved_segments_with_their_reach_but_not_ad_hoc_ones(marketer, make_user):
    owner = make_user(roles.MARKETER, username="mia")
    Segment.objects.create(
        name="Gold buyers",
        description="Gold customers who bought",
        owner=owner,
        rules=rules(GOLD),
        last_reach=1234,
        last_reachable={"web": 500, "android": 300, "ios": 200, "any": 950},
        last_computed_at=NOW,
    )
    Segment.objects.create(name="Campaign 7 audience", is_adhoc=True, rules=rules(GOLD))
    response = marketer.get("/segments/")
    assert [segment.name for segment in response.context["page"].object_list] == ["Gold buyers"]
    page = response.content.decode()
    for shown in (
        "Gold buyers",
        "Gold customers who bought",
        "mia",
        "1,234",
        "950",
        "web 500",
        "Android 300",
        "iOS 200",
    ):
        assert shown in page
    assert 'href="/segments/new/"' in page


def test_the_list_is_searched_by_name(marketer):
    for name in ("Gold buyers", "Silver browsers", "Lapsed gold"):
        Segment.objects.create(name=name, rules=rules(GOLD))
    response = marketer.get("/segments/?q=gold", headers={"HX-Request": "true"})
    assert re.findall(r'<a href="/segments/\d+/">(.*?)</a>', response.content.decode()) == [
        "Gold buyers",
        "Lapsed gold",
    ]
    assert b"<html" not in response.content  # the results alone


def test_an_empty_list_says_what_a_segment_is(marketer):
    assert b"No segments yet" in marketer.get("/segments/").content


def test_the_builder_answers_an_edit_with_the_reach_per_channel(marketer, audience):
    response = post(marketer, "/segments/new/", rules(GOLD), "estimate")
    assert response.status_code == 200
    reach = response.context["reach"]
    assert (reach.qualified, reach.reachable) == (2, {"web": 1, "android": 1, "ios": 0, "any": 2})
    page = response.content.decode()
    assert 'id="reach-qualified" data-count="2"' in page
    assert 'id="reach-android" data-count="1"' in page
    # While typing only the reach and the messages come back, not the fields being typed in.
    assert 'name="r.0.value"' not in page
    assert 'id="r-0-msg" hx-swap-oob="true"' in page


def test_a_structural_edit_draws_the_builder_again(marketer, audience):
    response = post(marketer, "/segments/new/", rules(GOLD), "add-condition r")
    page = response.content.decode()
    assert '<form id="segment-form"' in page
    assert 'name="r.1.kind" id="r-1-kind" hx-post="/segments/new/" autofocus' in page
    assert "<html" not in page


def test_a_redraw_keeps_the_reach_panel_for_the_page_to_count_once_drawn(marketer, audience):
    # static/js/reach.js counts after the redraw; counting here as well would count twice.
    response = post(marketer, "/segments/new/", rules(GOLD), "apply")
    assert response.context["reach"] is None
    assert re.search(r'<section id="reach"[^>]* hx-preserve="true"', response.content.decode())


def test_the_estimate_says_when_it_was_counted(marketer, audience):
    with time_machine.travel(datetime(2026, 11, 22, 10, 42, 7, tzinfo=UTC), tick=False):
        response = post(marketer, "/segments/new/", rules(GOLD), "estimate")
    page = response.content.decode()
    assert 'data-counted-at="2026-11-22T10:42:07+00:00"' in page
    assert re.search(r'<p class="reach-status small">counted <time datetime="[^"]+">10:42</time></p>', page)
    assert 'data-reach-url="/segments/new/" data-reach-form="segment-form"' in page


def test_rules_that_cannot_be_counted_yet_show_no_time(marketer, audience):
    response = post(marketer, "/segments/new/", rules({"kind": "gender", "values": []}), "estimate")
    page = response.content.decode()
    assert "data-counted-at" not in page
    assert '<p class="reach-status small"></p>' in page
    assert "Fix the conditions marked in red" in page


def test_a_bad_condition_shows_its_message_in_place_and_nothing_is_saved(marketer, audience):
    no_place = {"kind": "radius", "km": 50, "places": []}
    response = post(marketer, "/segments/new/", rules(GOLD, no_place), "save", name="Near nowhere")
    assert response.status_code == 422
    assert message_of(response, "r-1") == "The radius needs a place: pick a city or a point"
    assert message_of(response, "r-0") == ""
    assert response.context["reach"] is None
    assert not Segment.objects.exists()


def test_a_number_field_with_a_word_says_so(marketer, audience):
    note_properties("profile", [{"ltv": 3}])
    response = post(
        marketer, "/segments/new/", rules({"kind": "property", "name": "ltv", "op": "equals", "value": "lots"})
    )
    assert message_of(response, "r-0") == "'ltv' holds numbers: enter one such as 42 or 9.99"


def test_a_property_no_profile_has_yet_is_allowed_with_a_note(marketer, audience):
    unknown = {"kind": "property", "name": "loyalty_tier", "op": "equals", "value": "A"}
    response = post(marketer, "/segments/new/", rules(GOLD, unknown), "estimate")
    assert (
        message_of(response, "r-1")
        == "No profile has 'loyalty_tier' yet; the condition is kept and will apply once one does."
    )
    assert response.context["reach"].qualified == 0


def test_saving_creates_the_segment_with_its_reach(marketer, audience):
    response = post(marketer, "/segments/new/", rules(GOLD), "save", name="Gold", description="Our best")
    segment = Segment.objects.get()
    assert response.headers["HX-Redirect"] == f"/segments/{segment.pk}/"
    assert (segment.name, segment.description, segment.rules, segment.is_adhoc) == (
        "Gold",
        "Our best",
        rules(GOLD),
        False,
    )
    assert segment.owner.username.startswith("marketer")
    assert (segment.last_reach, segment.last_reachable["any"], segment.last_computed_at) == (2, 2, NOW)


def test_saving_without_javascript_redirects_to_the_segment(marketer, audience):
    response = post(marketer, "/segments/new/", rules(GOLD), "save", htmx=False, name="Gold")
    assert response.status_code == 302
    assert response.url == f"/segments/{Segment.objects.get().pk}/"


def test_a_segment_needs_a_name(marketer, audience):
    response = post(marketer, "/segments/new/", rules(GOLD), "save")
    assert response.status_code == 422
    assert b"Give the segment a name." in response.content
    assert not Segment.objects.exists()


def test_saving_again_updates_the_segment_and_keeps_its_owner(marketer, audience, make_user):
    owner = make_user(roles.MARKETER, username="owner")
    segment = Segment.objects.create(name="Gold", owner=owner, rules=rules(GOLD))
    page = marketer.get(f"/segments/{segment.pk}/")
    assert page.context["details"]["name"].value() == "Gold"
    assert 'name="r.0.value" id="r-0-value" value="Gold"' in page.content.decode()
    silver = GOLD | {"value": "Silver"}
    post(marketer, f"/segments/{segment.pk}/", rules(silver), "save", name="Silver")
    segment.refresh_from_db()
    assert (segment.name, segment.rules, segment.owner, segment.last_reach) == ("Silver", rules(silver), owner, 1)
    assert Segment.objects.count() == 1


def test_deleting_asks_first_then_deletes(marketer):
    segment = Segment.objects.create(name="Gold", rules=rules(GOLD))
    confirm = marketer.get(f"/segments/{segment.pk}/delete/")
    assert b"Delete \xe2\x80\x9cGold\xe2\x80\x9d?" in confirm.content
    assert Segment.objects.exists()
    response = marketer.post(f"/segments/{segment.pk}/delete/")
    assert response.url == "/segments/"
    assert not Segment.objects.exists()


def test_an_ad_hoc_segment_has_no_page_here(marketer):
    segment = Segment.objects.create(name="Campaign 7", is_adhoc=True, rules=rules(GOLD))
    assert marketer.get(f"/segments/{segment.pk}/").status_code == 404
    assert marketer.post(f"/segments/{segment.pk}/delete/").status_code == 404


def test_what_people_typed_is_shown_as_text_not_html(marketer, audience):
    evil = "<script>alert(1)</script>"
    segment = Segment.objects.create(name=evil, description=evil, rules=rules(GOLD | {"name": evil, "value": evil}))
    for url in ("/segments/", f"/segments/{segment.pk}/", f"/segments/{segment.pk}/delete/"):
        page = marketer.get(url).content.decode()
        assert evil not in page
        assert "&lt;script&gt;" in page


def test_values_are_suggested_from_the_data(marketer, audience):
    response = marketer.get(
        "/segments/suggest/", {"what": "values", "name": "customer_type", "field_prefix": "r.0.", "r.0.value": "g"}
    )
    assert response.content.decode().split() == ["<option", 'value="Gold"></option>']


def test_a_list_is_completed_item_by_item(marketer, audience):
    typed = {"what": "values", "name": "customer_type", "field_prefix": "r.0.", "r.0.values": "Gold, S"}
    assert b'<option value="Gold, Silver">' in marketer.get("/segments/suggest/", typed).content


def test_cities_and_places_are_suggested_from_the_data(marketer, audience):
    Profile.objects.filter(identity="gold-web").update(
        region="California", country="United States", latitude=37.7749, longitude=-122.4194
    )
    cities = marketer.get(
        "/segments/suggest/", {"what": "column", "field": "city", "field_prefix": "r.0.", "r.0.values": "san"}
    )
    assert b'value="San Francisco"' in cities.content and b'value="San Jose"' in cities.content
    places = marketer.get("/segments/suggest/", {"what": "places", "field_prefix": "r.2.", "r.2.place_query": "san f"})
    assert b'value="add-place r.2 37.774900 -122.419400 San Francisco, California, United States"' in places.content


def test_only_known_columns_are_suggested(marketer, audience):
    response = marketer.get(
        "/segments/suggest/", {"what": "column", "field": "email", "field_prefix": "r.0.", "r.0.value": ""}
    )
    assert response.content.strip() == b""


def test_the_estimate_gives_each_count_its_definition_on_hover(marketer, audience):
    from segments.counts import BY_NAME

    page = post(marketer, "/segments/new/", rules(GOLD), "estimate").content.decode()
    for name in ("qualified", "reachable"):
        assert f'title="{BY_NAME[name].label}: {html.escape(BY_NAME[name].definition)}"' in page
    assert 'href="/stats/glossary/#reachable"' in page
