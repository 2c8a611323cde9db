"""Property-based: on generated profiles and generated rules, the compiler's query
and the Python matcher select exactly the same people.

Text is ASCII here: SQLite's LIKE folds case for ASCII letters only, so
"contains" on other alphabets is case-insensitive on PostgreSQL alone."""

from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segments.actions.reach import estimate_reach
from segments.models import Device, Event, Profile
from segments.rules import parse
from segments.rules.compiler import profiles
from segments.rules.matcher import matches

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
WORDS = ["Gold", "gold", "Silver", "Platinum", "go", "", "7"]
NAMES = ["tier", "ltv", "vip", "since", "tags"]
CITIES = ["Paris", "Oslo", "Lima", ""]
VERSIONS = ["", "1.0", "1.9.0", "2.1.0", "14", "17.4", "4.5-Beta", "4.5-beta"]
LANGUAGES = ["", "en", "EN-gb", "en-US", "eng", "pt-BR", "pt"]
ZONES = ["", "Europe/Paris", "Europe/London", "America/New_York"]
PEOPLE = ["", "Ana Gold", "ana", "Bob"]
# Push categories as browsers and apps send them; "offers" alone (not a list) is bad data
# that must select no one on either side.
CATEGORIES = ["offers", "Offers", "news", "new arrivals", "offers, news"]

text = st.sampled_from(WORDS)


def coordinate(limit):
    """Degrees as the API stores them: rounded to seven decimals."""
    return st.floats(-limit, limit).map(lambda degrees: round(degrees, 7))


number = st.one_of(st.integers(-50, 500), st.sampled_from([0.5, 12.25, 99.9]))
# Stored before ingest bounded numbers to ±1e15 (segments/numbers.py): old data rules never
# compare with, but must read without failing, and read as the numbers they are.
old_huge = st.sampled_from([10**400, -(10**400), 1e300, 10**16 + 1])
day = st.dates(date(2023, 1, 1), date(2026, 12, 31))
value = st.one_of(text, number, old_huge, st.booleans(), day.map(date.isoformat), st.none(), st.lists(text, max_size=2))
properties = st.dictionaries(st.sampled_from(NAMES), value, max_size=4)

device = st.fixed_dictionaries(
    {
        "platform": st.sampled_from(["web", "android", "ios"]),
        "push_status": st.sampled_from(["ask", "allowed", "blocked", "unsupported", "suspended"]),
        "has_address": st.booleans(),
        "retired": st.booleans(),
        "app_version": st.sampled_from(VERSIONS),
        "os_version": st.sampled_from(VERSIONS),
        "make": st.sampled_from(["", "Apple", "Samsung"]),
        "categories": st.one_of(st.lists(st.sampled_from(CATEGORIES), max_size=3), st.just("offers")),
    }
)
event = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["Added To Cart", "Charged"]),
        "properties": st.dictionaries(st.sampled_from(["price", "sku"]), st.one_of(number, old_huge, text), max_size=2),
        "hours_ago": st.integers(0, 24 * 60),
    }
)
profile = st.fixed_dictionaries(
    {
        "properties": properties,
        "gender": st.sampled_from(["", "female", "male", "other"]),
        "city": st.sampled_from(CITIES),
        "birth": st.one_of(st.none(), st.dates(date(1940, 1, 1), date(2020, 12, 31))),
        "age": st.one_of(st.none(), st.integers(0, 99)),
        "point": st.one_of(st.none(), st.tuples(coordinate(60), coordinate(170))),
        "email": st.sampled_from(["", "a@example.com", "Go@Example.org"]),
        "name": st.sampled_from(PEOPLE),
        "phone": st.sampled_from(["", "+14155550100", "+447700900123"]),
        "language": st.sampled_from(LANGUAGES),
        "timezone": st.sampled_from(ZONES),
        "is_test": st.booleans(),
        "created_hours_ago": st.integers(0, 24 * 90),
        "updated_hours_ago": st.integers(0, 24 * 90),
        "seen_hours_ago": st.one_of(st.none(), st.integers(0, 24 * 90)),
        "email_unsubscribed": st.booleans(),
        "devices": st.lists(device, max_size=2),
        "events": st.lists(event, max_size=4),
    }
)


def comparison(name):
    return st.one_of(
        st.builds(
            lambda op, v: {"name": name, "op": op, "value": v},
            st.sampled_from(["equals", "not_equals"]),
            st.one_of(text.filter(bool), number, st.booleans()),
        ),
        st.builds(
            lambda op, v: {"name": name, "op": op, "value": v},
            st.sampled_from(["contains", "starts_with"]),
            text.filter(bool),
        ),
        st.builds(
            lambda v: {"name": name, "op": "in", "values": v},
            st.lists(st.one_of(text.filter(bool), number), min_size=1, max_size=3),
        ),
        st.builds(
            lambda op, v: {"name": name, "op": op, "value": v},
            st.sampled_from(["greater", "less"]),
            st.one_of(number, day.map(date.isoformat)),
        ),
        st.builds(lambda a, b: {"name": name, "op": "between", "min": min(a, b), "max": max(a, b)}, number, number),
        st.builds(lambda op: {"name": name, "op": op}, st.sampled_from(["is_set", "is_not_set"])),
    )


def app_comparison(field):
    return st.one_of(
        st.builds(
            lambda op, v: {"field": field, "op": op, "value": v},
            st.sampled_from(["equals", "not_equals", "contains", "starts_with"]),
            st.sampled_from([v for v in VERSIONS if v]),
        ),
        st.builds(
            lambda v: {"field": field, "op": "in", "values": v},
            st.lists(st.sampled_from(VERSIONS[1:]), min_size=1, max_size=2),
        ),
        st.builds(lambda op: {"field": field, "op": op}, st.sampled_from(["is_set", "is_not_set"])),
    )


def field_comparison(name):
    """Conditions on one of the profile's own columns, with the operators of its type."""
    kind = {"language": "language", "is_test": "flag", "date_of_birth": "date"}.get(name)
    if name in ("created_at", "updated_at", "last_seen_at"):
        kind = "time"
    presence = st.builds(lambda op: {"field": name, "op": op}, st.sampled_from(["is_set", "is_not_set"]))
    if kind == "flag":
        return st.builds(lambda v: {"field": name, "op": "equals", "value": v}, st.booleans())
    if kind in ("date", "time"):
        days = st.dates(date(2026, 8, 1), date(2026, 11, 30)) if kind == "time" else day
        options = [
            presence,
            st.builds(
                lambda op, d: {"field": name, "op": op, "value": d.isoformat()},
                st.sampled_from(["greater", "less"]),
                days,
            ),
            st.builds(
                lambda a, b: {
                    "field": name,
                    "op": "between",
                    "min": min(a, b).isoformat(),
                    "max": max(a, b).isoformat(),
                },
                days,
                days,
            ),
        ]
        if kind == "time":
            options.append(
                st.builds(
                    lambda op, n: {"field": name, "op": op, "value": n},
                    st.sampled_from(["in_last_days", "over_days_ago"]),
                    st.integers(1, 100),
                )
            )
        return st.one_of(options)
    words = {"language": LANGUAGES, "timezone": ZONES, "name": PEOPLE}.get(name, ["a@example.com", "+1", "go", "p1"])
    if kind == "language":
        words = ["en", "EN-gb", "en-US", "pt", "eng", "e"]
    words = [w for w in words if w]
    return st.one_of(
        presence,
        st.builds(
            lambda op, v: {"field": name, "op": op, "value": v},
            st.sampled_from(["equals", "not_equals", "contains", "starts_with"]),
            st.sampled_from(words),
        ),
        st.builds(
            lambda v: {"field": name, "op": "in", "values": v}, st.lists(st.sampled_from(words), min_size=1, max_size=3)
        ),
    )


FIELDS = ["name", "email", "phone", "identity", "language", "timezone", "is_test", "date_of_birth"]
FIELDS += ["created_at", "updated_at", "last_seen_at"]
field_condition = st.sampled_from(FIELDS).flatmap(field_comparison).map(lambda c: {"kind": "field", **c})

window = st.one_of(
    st.just({"type": "ever"}),
    st.builds(lambda d: {"type": "last_days", "days": d}, st.integers(1, 60)),
    st.builds(
        lambda a, b: {"type": "between", "start": min(a, b).isoformat(), "end": max(a, b).isoformat()},
        st.dates(date(2026, 9, 1), date(2026, 11, 30)),
        st.dates(date(2026, 9, 1), date(2026, 11, 30)),
    ),
)
count = st.one_of(
    st.builds(lambda n: {"op": "at_least", "value": n}, st.integers(1, 3)),
    st.builds(lambda op, n: {"op": op, "value": n}, st.sampled_from(["at_most", "exactly"]), st.integers(0, 3)),
)
property_condition = st.sampled_from(NAMES).flatmap(comparison).map(lambda c: {"kind": "property", **c})
push_condition = st.one_of(
    st.builds(
        lambda channel, values: {"kind": "push_status", "channel": channel, "values": values},
        st.sampled_from(["web", "mobile", "any"]),
        st.lists(st.sampled_from(["ask", "allowed", "blocked", "unsupported", "suspended"]), min_size=1, max_size=3),
    ),
    st.builds(
        lambda channel, values: {"kind": "push_category", "channel": channel, "values": values},
        st.sampled_from(["web", "mobile", "any"]),
        st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=2),
    ),
)
condition = st.one_of(
    property_condition,
    property_condition,
    st.builds(lambda a, b: {"kind": "age", "min": min(a, b), "max": max(a, b)}, st.integers(0, 90), st.integers(0, 90)),
    st.builds(
        lambda v: {"kind": "gender", "values": v}, st.lists(st.sampled_from(["female", "male", "other"]), min_size=1)
    ),
    st.builds(
        lambda op, v: {"kind": "geo", "field": "city", "op": op, "values": v},
        st.sampled_from(["in", "not_in"]),
        st.lists(st.sampled_from(CITIES[:3]), min_size=1),
    ),
    st.builds(
        lambda lat, lon, km: {"kind": "radius", "km": km, "places": [{"lat": lat, "lon": lon}]},
        st.floats(-60, 60),
        st.floats(-170, 170),
        st.floats(1, 5000),
    ),
    st.builds(
        lambda check, v: {"kind": "reachability", "check": check, "value": v},
        st.sampled_from(["has_email", "has_phone", "email_unsubscribed"]),
        st.booleans(),
    ),
    st.builds(
        lambda ch, v: {"kind": "reachability", "check": "push_reachable", "channel": ch, "value": v},
        st.sampled_from(["any", "web", "android", "ios"]),
        st.booleans(),
    ),
    field_condition,
    field_condition,
    push_condition,
    st.sampled_from(["app_version", "os_version", "make"])
    .flatmap(app_comparison)
    .map(lambda c: {"kind": "app_field", **c}),
    st.builds(
        lambda name, did, n, w, occurrence, filters: {
            "kind": "event",
            "event": name,
            "did": did,
            "count": n,
            "window": w,
            "occurrence": occurrence,
            "filters": filters,
        },
        st.sampled_from(["Added To Cart", "Charged"]),
        st.booleans(),
        count,
        window,
        st.sampled_from(["any", "any", "first", "last"]),
        st.lists(st.sampled_from(["price", "sku"]).flatmap(comparison), max_size=1),
    ),
)
matchers = st.sampled_from(["all", "any", "none"])
group = st.recursive(
    st.builds(lambda m, cs: {"match": m, "conditions": cs}, matchers, st.lists(condition, min_size=1, max_size=4)),
    lambda inner: st.builds(
        lambda m, cs: {"match": m, "conditions": cs},
        matchers,
        st.lists(st.one_of(condition, inner), min_size=1, max_size=3),
    ),
    max_leaves=6,
)


def create(index, data):
    latitude, longitude = data["point"] or (None, None)
    person = Profile.objects.create(
        identity=f"p{index}",
        properties=data["properties"],
        gender=data["gender"],
        city=data["city"],
        date_of_birth=data["birth"],
        age=data["age"],
        latitude=latitude,
        longitude=longitude,
        email=data["email"],
        email_unsubscribed=data["email_unsubscribed"],
        name=data["name"],
        phone=data["phone"],
        language=data["language"],
        timezone=data["timezone"],
        is_test=data["is_test"],
        last_seen_at=None if data["seen_hours_ago"] is None else NOW - timedelta(hours=data["seen_hours_ago"]),
    )
    # auto_now_add and auto_now would say "now" (the real clock): set the times themselves.
    Profile.objects.filter(pk=person.pk).update(
        created_at=NOW - timedelta(hours=data["created_hours_ago"]),
        updated_at=NOW - timedelta(hours=data["updated_hours_ago"]),
    )
    for number_, d in enumerate(data["devices"]):
        address = f"{index}-{number_}" if d["has_address"] else ""
        Device.objects.create(
            profile=person,
            platform=d["platform"],
            push_status=d["push_status"],
            endpoint=f"https://push.example/{address}" if address and d["platform"] == "web" else "",
            token=address if d["platform"] != "web" else "",
            retired_at=NOW if d["retired"] else None,
            app_version=d["app_version"],
            os_version=d["os_version"],
            make=d["make"],
            categories=d["categories"],
        )
    Event.objects.bulk_create(
        Event(
            profile=person,
            name=e["name"],
            properties=e["properties"],
            occurred_at=NOW - timedelta(hours=e["hours_ago"]),
        )
        for e in data["events"]
    )


def agree(people, rules):
    tree = parse(rules)
    with transaction.atomic():
        for index, data in enumerate(people):
            create(index, data)
        by_query = set(profiles(tree, now=NOW).values_list("identity", flat=True))
        counted = estimate_reach(tree, now=NOW).qualified  # an any-of group: from its list of ids
        by_python = {
            p.identity
            for p in Profile.objects.prefetch_related("devices", "events")
            if matches(tree, p, devices=list(p.devices.all()), events=list(p.events.all()), now=NOW)
        }
        transaction.set_rollback(True)
    assert by_query == by_python, rules
    assert counted == len(by_query), rules


EXAMPLES = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@EXAMPLES
@given(people=st.lists(profile, min_size=2, max_size=6), rules=group)
def test_the_compiler_and_the_matcher_agree(db, people, rules):
    agree(people, rules)


# Every field and operator of the profile's own columns, often enough to meet each edge
# (a tag in another case, a missing date) — a rare draw in the mixed rules above.
field_rules = st.builds(
    lambda m, cs: {"match": m, "conditions": cs},
    matchers,
    st.lists(field_condition, min_size=1, max_size=3),
)


@EXAMPLES
@given(people=st.lists(profile, min_size=3, max_size=6), rules=field_rules)
def test_the_compiler_and_the_matcher_agree_on_every_profile_field(db, people, rules):
    agree(people, rules)


# The kinds bench/reach.py times, mixed as a marketer mixes them: a count of events in a
# window (counted per profile beside other conditions, once for the window alone or
# under "any of"), a prefix of an app field (LIKE when it has no letters, case ignored
# when it has), properties.
counted_event = st.builds(
    lambda name, did, op, n, w: {
        "kind": "event",
        "event": name,
        "did": did,
        "count": {"op": op, "value": n},
        "window": w,
    },
    st.sampled_from(["Added To Cart", "Charged"]),
    st.booleans(),
    st.sampled_from(["at_least", "exactly"]),
    st.integers(2, 3),
    window,
)
app_prefix = st.builds(
    lambda field, value: {"kind": "app_field", "field": field, "op": "starts_with", "value": value},
    st.sampled_from(["app_version", "os_version"]),
    st.sampled_from(["1", "1.9", "17.", "4.5", "4.5-b", "4.5-BETA"]),
)
reach_kinds = st.recursive(
    st.builds(
        lambda m, cs: {"match": m, "conditions": cs},
        matchers,
        st.lists(st.one_of(counted_event, app_prefix, property_condition), min_size=1, max_size=3),
    ),
    lambda inner: st.builds(
        lambda m, cs: {"match": m, "conditions": cs},
        matchers,
        st.lists(st.one_of(counted_event, app_prefix, inner), min_size=1, max_size=3),
    ),
    max_leaves=5,
)


@EXAMPLES
@given(
    people=st.lists(
        st.tuples(profile, st.lists(event, min_size=2, max_size=6)).map(lambda pe: {**pe[0], "events": pe[1]}),
        min_size=3,
        max_size=6,
    ),
    rules=reach_kinds,
)
def test_the_compiler_and_the_matcher_agree_on_counts_prefixes_and_any_of_groups(db, people, rules):
    agree(people, rules)


# Push status and categories per channel, often enough to meet each edge (a retired or
# unreachable device, another platform, categories that are not a list), beside the
# push reachability they resemble.
push_rules = st.builds(
    lambda m, cs: {"match": m, "conditions": cs},
    matchers,
    st.lists(
        st.one_of(
            push_condition,
            push_condition,
            st.builds(
                lambda ch, v: {"kind": "reachability", "check": "push_reachable", "channel": ch, "value": v},
                st.sampled_from(["any", "web", "android", "ios"]),
                st.booleans(),
            ),
        ),
        min_size=1,
        max_size=3,
    ),
)


@EXAMPLES
@given(people=st.lists(profile, min_size=3, max_size=6), rules=push_rules)
def test_the_compiler_and_the_matcher_agree_on_push_status_and_categories(db, people, rules):
    agree(people, rules)
