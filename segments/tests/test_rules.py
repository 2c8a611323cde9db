"""Each operator, through the compiler (one query) and the matcher (Python), on the
same small audience: both must pick exactly the expected people."""

from datetime import UTC, date, datetime, timedelta

import pytest

from segments.models import Device, Event, Profile
from segments.rules import RuleError, parse
from segments.rules.compiler import profiles
from segments.rules.matcher import matches

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def person(identity, **fields):
    return Profile.objects.create(identity=identity, **fields)


def event(profile, name, days_ago=1, **properties):
    return Event.objects.create(
        profile=profile, name=name, properties=properties, occurred_at=NOW - timedelta(days=days_ago)
    )


def device(profile, platform="android", **fields):
    defaults = {"push_status": "allowed", "token": f"tok-{profile.identity}" if platform != "web" else ""}
    if platform == "web":
        defaults["endpoint"] = f"https://push.example/{profile.identity}-{Device.objects.count()}"
    return Device.objects.create(profile=profile, platform=platform, **(defaults | fields))


def selected(*conditions, match="all"):
    """The identities the compiler selects, after checking the matcher agrees."""
    group = parse({"match": match, "conditions": list(conditions)})
    by_query = set(profiles(group, now=NOW).values_list("identity", flat=True))
    by_python = {
        p.identity
        for p in Profile.objects.prefetch_related("devices", "events")
        if matches(group, p, devices=list(p.devices.all()), events=list(p.events.all()), now=NOW)
    }
    assert by_query == by_python, f"compiler {by_query} != matcher {by_python}"
    return by_query


@pytest.fixture
def people(db):
    return {
        "gold": person("gold", properties={"customer_type": "Gold", "ltv": 120.5, "vip": True, "since": "2024-03-01"}),
        "silver": person("silver", properties={"customer_type": "Silver", "ltv": 40, "since": "2025-07-15T10:00:00"}),
        "none": person("none", properties={}),
        "odd": person("odd", properties={"customer_type": 7, "ltv": "lots", "vip": None}),
    }


def prop(op, **rest):
    return {"kind": "property", "name": rest.pop("name", "customer_type"), "op": op, **rest}


def test_equals(people):
    assert selected(prop("equals", value="Gold")) == {"gold"}
    assert selected(prop("equals", value=7)) == {"odd"}
    assert selected(prop("equals", name="vip", value=True)) == {"gold"}


def test_not_equals_includes_people_without_the_property(people):
    assert selected(prop("not_equals", value="Gold")) == {"silver", "none", "odd"}


def test_contains_and_starts_with_ignore_case(people):
    assert selected(prop("contains", value="OLD")) == {"gold"}
    assert selected(prop("starts_with", value="sil")) == {"silver"}


def test_in_list(people):
    assert selected(prop("in", values=["Gold", "Silver", 7])) == {"gold", "silver", "odd"}


def test_greater_less_and_between_compare_numbers_only(people):
    assert selected(prop("greater", name="ltv", value=50)) == {"gold"}
    assert selected(prop("less", name="ltv", value=50)) == {"silver"}  # "lots" is not a number
    assert selected(prop("between", name="ltv", min=40, max=120.5)) == {"gold", "silver"}


def test_dates_compare_by_day(people):
    assert selected(prop("greater", name="since", value="2025-01-01")) == {"silver"}
    assert selected(prop("between", name="since", min="2024-03-01", max="2024-03-01")) == {"gold"}


def test_is_set_and_is_not_set(people):
    assert selected(prop("is_set", name="vip")) == {"gold"}  # null is not set
    assert selected(prop("is_not_set", name="vip")) == {"silver", "none", "odd"}


@pytest.fixture
def demographics(db):
    today = NOW.date()
    person("born-30", date_of_birth=date(today.year - 30, today.month, today.day), gender="female")
    person(
        "turns-40-tomorrow",
        date_of_birth=date(today.year - 40, 1, 1) + timedelta(days=(today - date(today.year, 1, 1)).days + 1),
        gender="male",
    )
    person("aged-25", age=25, gender="other")
    person("unknown")


def test_age_between_uses_birth_dates_then_ages(demographics):
    assert selected({"kind": "age", "min": 25, "max": 39}) == {"born-30", "turns-40-tomorrow", "aged-25"}
    assert selected({"kind": "age", "min": 31, "max": 60}) == {"turns-40-tomorrow"}


def test_gender(demographics):
    assert selected({"kind": "gender", "values": ["female", "other"]}) == {"born-30", "aged-25"}


@pytest.fixture
def places(db):
    person(
        "sf", country="United States", region="California", city="San Francisco", latitude=37.7749, longitude=-122.4194
    )
    person(
        "oakland", country="United States", region="California", city="Oakland", latitude=37.8044, longitude=-122.2712
    )
    person(
        "la", country="United States", region="California", city="Los Angeles", latitude=34.0522, longitude=-118.2437
    )
    person("paris", country="France", region="Île-de-France", city="Paris", latitude=48.8566, longitude=2.3522)
    person("nowhere")


def test_country_region_city(places):
    assert selected({"kind": "geo", "field": "country", "values": ["France"]}) == {"paris"}
    assert selected({"kind": "geo", "field": "city", "op": "not_in", "values": ["Paris", "Oakland"]}) == {
        "sf",
        "la",
        "nowhere",
    }


def test_radius_around_one_or_more_places(places):
    sf = {"label": "San Francisco", "lat": 37.7749, "lon": -122.4194}
    assert selected({"kind": "radius", "km": 50, "places": [sf]}) == {"sf", "oakland"}
    paris = {"lat": 48.85, "lon": 2.35}
    assert selected({"kind": "radius", "km": 50, "places": [sf, paris]}) == {"sf", "oakland", "paris"}


@pytest.fixture
def reach(db):
    web = person("web", email="w@example.com")
    device(web, "web", browser="chrome")
    ios = person("ios", phone="+14155550100", email_unsubscribed=True)
    device(ios, "ios", token="ab" * 32, app_version="2.1.0", os_version="17.4", make="Apple", model="iPhone15,2")
    blocked = person("blocked", sms_unsubscribed=True)
    device(blocked, "android", push_status="blocked", app_version="1.9.0", os_version="14", make="Samsung")
    retired = person("retired")
    device(retired, "android", retired_at=NOW, os_version="13")


@pytest.mark.parametrize(
    ("check", "value", "expected"),
    [
        ("has_email", True, {"web"}),
        ("has_phone", True, {"ios"}),
        ("has_phone", False, {"web", "blocked", "retired"}),
        ("email_unsubscribed", True, {"ios"}),
        ("sms_unsubscribed", False, {"web", "ios", "retired"}),
    ],
)
def test_reachability(reach, check, value, expected):
    assert selected({"kind": "reachability", "check": check, "value": value}) == expected


@pytest.mark.parametrize(("channel", "expected"), [("any", {"web", "ios"}), ("web", {"web"}), ("android", set())])
def test_push_reachable_needs_an_allowed_live_device(reach, channel, expected):
    assert selected({"kind": "reachability", "check": "push_reachable", "channel": channel}) == expected


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("app_version", "starts_with", "2.", {"ios"}),
        ("os_version", "equals", 14, {"blocked"}),
        ("make", "in", ["Apple", "Samsung"], {"ios", "blocked"}),
        ("model", "contains", "iphone", {"ios"}),
        ("app_version", "is_set", None, {"ios", "blocked"}),
        ("os_version", "not_equals", "14", {"ios", "retired"}),
    ],
)
def test_app_fields_on_any_device(reach, field, op, value, expected):
    condition = {"kind": "app_field", "field": field, "op": op}
    condition |= {"values": value} if op == "in" else {"value": value}
    assert selected(condition) == expected


@pytest.fixture
def carts(db):
    twice = person("twice")
    event(twice, "Added To Cart", 2, price=30)
    event(twice, "Added To Cart", 10, price=5)
    old = person("old")
    event(old, "Added To Cart", 45, price=50)
    event(old, "Charged", 44, amount=50)
    once = person("once")
    event(once, "Added To Cart", 3, price=80)
    person("never")


def did(times=1, op="at_least", days=30, **rest):
    window = {"type": "last_days", "days": days} if days else {"type": "ever"}
    return {"kind": "event", "event": "Added To Cart", "count": {"op": op, "value": times}, "window": window, **rest}


def test_did_at_least_at_most_exactly(carts):
    assert selected(did()) == {"twice", "once"}
    assert selected(did(2)) == {"twice"}
    assert selected(did(1, "at_most")) == {"once", "old", "never"}
    assert selected(did(1, "exactly")) == {"once"}
    assert selected(did(0, "exactly")) == {"old", "never"}


def test_did_not(carts):
    assert selected(did(did=False)) == {"old", "never"}


def test_event_property_filters(carts):
    expensive = [{"name": "price", "op": "greater", "value": 20}]
    assert selected(did(filters=expensive)) == {"twice", "once"}
    assert selected(did(2, filters=expensive)) == set()


def test_windows_ever_and_between(carts):
    assert selected(did(days=None)) == {"twice", "once", "old"}
    start, end = (NOW - timedelta(days=46)).date().isoformat(), (NOW - timedelta(days=40)).date().isoformat()
    assert selected(did(days=None) | {"window": {"type": "between", "start": start, "end": end}}) == {"old"}


def test_first_and_last_time(carts):
    assert selected(did(days=5, occurrence="first")) == {"once"}
    assert selected(did(days=5, occurrence="last")) == {"twice", "once"}


def test_groups_all_any_none(carts, people):
    gold = prop("equals", value="Gold")
    assert selected(gold, did(), match="any") == {"gold", "twice", "once"}
    assert selected(gold, did(), match="none") == {"silver", "none", "odd", "old", "never"}
    nested = {"match": "any", "conditions": [gold, did(2)]}
    assert selected(nested, prop("is_set", name="ltv"), match="all") == {"gold"}
    assert selected() == set(Profile.objects.values_list("identity", flat=True))


def test_live_event_is_decided_by_the_incoming_event(db):
    profile = person("p")
    group = parse(
        {
            "conditions": [
                {"kind": "live_event", "event": "Viewed", "filters": [{"name": "x", "op": "equals", "value": 1}]}
            ]
        }
    )
    incoming = Event(name="Viewed", properties={"x": 1}, occurred_at=NOW)
    assert matches(group, profile, devices=[], events=[], now=NOW, incoming=incoming)
    incoming.properties = {"x": 2}
    assert not matches(group, profile, devices=[], events=[], now=NOW, incoming=incoming)
    assert profiles(group, now=NOW).count() == 1


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (prop("greater", name="ltv", value="lots"), "needs a number"),
        (prop("in", values=[]), "the list is empty"),
        ({"kind": "radius", "km": 50, "places": []}, "needs a place"),
        ({"kind": "radius", "km": 0, "places": [{"lat": 1, "lon": 2}]}, "distance in km"),
        ({"kind": "event", "event": "", "did": True}, "choose an event"),
        ({"kind": "age", "min": 40, "max": 30}, "min ≤ max"),
        ({"kind": "event", "event": "E", "window": {"type": "last_days", "days": 0}}, "last N days"),
        ({"kind": "teleport"}, "unknown kind"),
    ],
)
def test_bad_rules_say_what_is_wrong_at_their_place(condition, message):
    with pytest.raises(RuleError) as error:
        parse({"match": "all", "conditions": [prop("is_set"), {"match": "any", "conditions": [condition]}]})
    assert list(error.value.errors) == ["1.0"]
    assert message in error.value.errors["1.0"]
