"""Numbers in properties: refused at ingest beyond ±1e15 (API, SDK, CSV import) with a 400
that names the field, and harmless to segments when old data holds one anyway."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from segments.actions import imports
from segments.actions.keys import create_api_key
from segments.actions.reach import estimate_reach
from segments.forms.builder import Types, read_form
from segments.forms.builder_display import form_from_rules
from segments.models import Device, Event, Profile, ProfileImport, Site
from segments.numbers import parse_number
from segments.rules import RuleError, parse
from segments.rules.compiler import profiles
from segments.rules.matcher import matches
from segments.tasks import import_profiles

pytestmark = pytest.mark.django_db

HUGE = 10**400  # a 400-digit integer, as a stranger sent it
ORIGIN = "https://shop.example.com"
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
RANGE = "must be a number from -1e15 to 1e15"


@pytest.fixture
def api(client):
    _, key = create_api_key("test", rate_per_minute=10_000)

    def call(path, body):
        return client.post(
            f"/api/v1{path}",
            json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )

    return call


@pytest.fixture
def sdk(client):
    site = Site.objects.create(name="Shop", allowed_origins=[ORIGIN])

    def call(endpoint, **fields):
        body = {"siteKey": site.key, "clientId": "c0ffee00-1111", **fields}
        return client.post(
            f"/sdk/v1/{endpoint}", json.dumps(body), content_type="text/plain", headers={"Origin": ORIGIN}
        )

    return call


def errors_of(response):
    return [(e.get("field"), e["reason"]) for e in response.json()["errors"]]


# Ingest: one rule, answered with the field's name.


def test_a_400_digit_profile_property_is_refused_by_the_api_naming_it(api):
    response = api("/profiles", {"profiles": [{"identity": "u1", "properties": {"ltv": HUGE}}]})
    assert response.status_code == 400
    [(field, reason)] = errors_of(response)
    assert field == "properties.ltv" and RANGE in reason
    assert not Profile.objects.exists()


def test_a_huge_number_in_a_list_property_is_refused_too(api):
    response = api("/profiles", {"profiles": [{"identity": "u1", "properties": {"scores": [1, -(10**16)]}}]})
    assert response.status_code == 400
    [(field, reason)] = errors_of(response)
    assert field == "properties.scores" and RANGE in reason


def test_a_400_digit_event_property_is_refused_by_the_api_naming_it(api):
    response = api("/events", {"events": [{"identity": "u1", "name": "Charged", "properties": {"amount": HUGE}}]})
    assert response.status_code == 400
    [(field, reason)] = errors_of(response)
    assert field == "properties.amount" and RANGE in reason
    assert not Event.objects.exists()


def test_numbers_up_to_1e15_either_side_are_kept_exactly(api):
    props = {"top": 10**15, "bottom": -(10**15), "cents": 123456789012345, "ratio": 0.25}
    assert api("/profiles", {"profiles": [{"identity": "u1", "properties": props}]}).status_code == 200
    assert Profile.objects.get().properties == props
    just_over = api("/profiles", {"profiles": [{"identity": "u2", "properties": {"top": 10**15 + 1}}]})
    assert just_over.status_code == 400


def test_a_400_digit_property_in_sdk_identify_is_refused_naming_it(sdk):
    response = sdk("identify", identity="ada", profile={"properties": {"ltv": HUGE}})
    assert response.status_code == 400
    [(field, reason)] = errors_of(response)
    assert field == "profile.properties.ltv" and RANGE in reason
    assert not Profile.objects.exists()


def test_a_400_digit_event_property_from_the_sdk_is_refused_naming_it(sdk):
    response = sdk("events", name="Added To Cart", properties={"price": HUGE})
    assert response.status_code == 400
    [(field, reason)] = errors_of(response)
    assert field == "properties.price" and RANGE in reason
    assert not Event.objects.exists()


def test_a_csv_row_with_a_number_out_of_range_is_a_row_error_naming_its_column(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    big_decimal = "1" + "0" * 300 + ".5"  # reads as a float, 1e300
    text = f'identity,ltv,scores\nok,7,\nbig,{big_decimal},\nlist,,"[1, {HUGE}]"\n'
    profile_import = imports.start_import(SimpleUploadedFile("p.csv", text.encode()), None, 1)
    import_profiles.apply(args=[profile_import.pk])
    profile_import = ProfileImport.objects.get()
    assert [(e["row"], e["field"]) for e in profile_import.errors] == [(3, "ltv"), (4, "scores")]
    assert all(RANGE in e["reason"] for e in profile_import.errors)
    assert list(Profile.objects.values_list("identity", flat=True)) == ["ok"]


# Old data: a number stored before the rule existed never breaks a segment.


def _reachable_person(identity, properties):
    person = Profile.objects.create(identity=identity, properties=properties)
    Device.objects.create(
        profile=person, platform="web", endpoint=f"https://push.example/{identity}", push_status="allowed"
    )
    return person


@pytest.fixture
def old_data():
    """Profiles and events stored directly, as rows written before ingest refused them."""
    _reachable_person("huge", {"ltv": HUGE})
    _reachable_person("negative", {"ltv": -HUGE})
    _reachable_person("float", {"ltv": 1e300})
    _reachable_person("normal", {"ltv": 50})
    tiny = _reachable_person("tiny", {"ltv": 3})
    if connection.vendor == "postgresql":
        # Below the smallest double: PostgreSQL refuses to cast it ("out of range") too.
        with connection.cursor() as cursor:
            cursor.execute("UPDATE segments_profile SET properties = '{\"ltv\": 1e-400}' WHERE id = %s", [tiny.pk])
    for identity, price in [("huge", HUGE), ("normal", 20)]:
        Event.objects.create(
            profile=Profile.objects.get(identity=identity),
            name="Charged",
            properties={"price": price},
            occurred_at=NOW - timedelta(days=1),
        )


COMPARISONS = [
    {"kind": "property", "name": "ltv", "op": "greater", "value": 10},
    {"kind": "property", "name": "ltv", "op": "less", "value": 10},
    {"kind": "property", "name": "ltv", "op": "between", "min": -5, "max": 100},
    {"kind": "property", "name": "ltv", "op": "equals", "value": 50},
    {"kind": "property", "name": "ltv", "op": "not_equals", "value": 50},
    {"kind": "property", "name": "ltv", "op": "in", "values": [50, 7]},
    {
        "kind": "event",
        "event": "Charged",
        "did": True,
        "filters": [{"name": "price", "op": "greater", "value": 10}],
    },
]


@pytest.mark.parametrize("condition", COMPARISONS, ids=lambda c: c.get("op") or c["kind"])
def test_a_stored_huge_number_breaks_no_segment_and_the_matcher_agrees(old_data, condition):
    tree = parse({"match": "all", "conditions": [condition]})
    by_query = set(profiles(tree, now=NOW).values_list("identity", flat=True))
    by_python = {
        p.identity
        for p in Profile.objects.prefetch_related("devices", "events")
        if matches(tree, p, devices=list(p.devices.all()), events=list(p.events.all()), now=NOW)
    }
    assert by_query == by_python


def test_a_stored_huge_number_compares_as_the_number_it_is():
    for identity, ltv in [("huge", HUGE), ("negative", -HUGE), ("float", 1e300), ("normal", 50)]:
        Profile.objects.create(identity=identity, properties={"ltv": ltv})
    greater = parse({"match": "all", "conditions": [COMPARISONS[0]]})
    assert set(profiles(greater, now=NOW).values_list("identity", flat=True)) == {"huge", "float", "normal"}


def test_the_reach_estimate_of_a_segment_comparing_a_huge_stored_number_returns(old_data):
    tree = parse({"match": "all", "conditions": [COMPARISONS[0]]})
    reach = estimate_reach(tree, now=NOW)
    assert (reach.qualified, reach.reachable["web"]) == (3, 3)  # huge, float and normal


# Typed by marketers: the same parser and bound.


@pytest.mark.parametrize("text", ["1" + "0" * 400, "1e400", "inf", "nan", "-Infinity", "1000000000000001", "٣"])
def test_typed_text_that_is_no_number_in_range_is_none(text):
    assert parse_number(text) is None


def test_typed_numbers_read_as_ints_or_floats():
    assert (parse_number("42"), parse_number("-9.99"), parse_number(" 1000000000000000 ")) == (42, -9.99, 10**15)


def test_the_rule_parser_refuses_a_number_out_of_range():
    with pytest.raises(RuleError):
        parse({"match": "all", "conditions": [{"kind": "property", "name": "ltv", "op": "equals", "value": HUGE}]})
    with pytest.raises(RuleError):
        parse({"match": "all", "conditions": [{"kind": "property", "name": "ltv", "op": "greater", "value": 1e16}]})


def test_the_segment_builder_reports_a_number_out_of_range_at_its_condition():
    types = Types(profile={"ltv": "number"}, event={})
    rule = {"kind": "property", "name": "ltv", "op": "greater", "value": 1}
    fields = form_from_rules({"match": "all", "conditions": [rule]}) | {"r.0.value": "1" + "0" * 400}
    edit = read_form(fields, types=types, action="")
    assert edit.errors == {"0": "'ltv' holds numbers: enter one from -1e15 to 1e15"}
