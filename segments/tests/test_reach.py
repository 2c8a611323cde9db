from datetime import UTC, datetime

import pytest

from segments.actions.properties import note_properties
from segments.actions.reach import (
    _count_profiles,
    estimate_reach,
    refresh_reach,
    rule_notes,
    suggest_places,
    suggest_values,
)
from segments.models import Device, Event, Profile, Segment
from segments.rules import parse
from segments.rules.compiler import compile_rules, profiles

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
GOLD = {"match": "all", "conditions": [{"kind": "property", "name": "tier", "op": "equals", "value": "Gold"}]}


@pytest.fixture
def audience(db):
    web = Profile.objects.create(
        identity="web", properties={"tier": "Gold"}, city="Paris", latitude=48.85, longitude=2.35
    )
    Device.objects.create(profile=web, platform="web", push_status="allowed", endpoint="https://push.example/1")
    both = Profile.objects.create(
        identity="both", properties={"tier": "Gold"}, city="Paris", latitude=48.87, longitude=2.33
    )
    Device.objects.create(profile=both, platform="android", push_status="allowed", token="t-1")
    Device.objects.create(profile=both, platform="ios", push_status="blocked", token="ab" * 32)
    Profile.objects.create(identity="gold-unreachable", properties={"tier": "Gold"}, city="Porto")
    Profile.objects.create(identity="silver", properties={"tier": "Silver"})
    note_properties("profile", [{"tier": "Gold"}])


def test_reach_counts_qualified_and_reachable_per_channel(audience):
    reach = estimate_reach(parse(GOLD), now=NOW)
    assert reach.qualified == 3
    assert reach.reachable == {"web": 1, "android": 1, "ios": 0, "any": 2}


def test_refreshing_a_segment_keeps_its_reach_on_the_row(audience):
    segment = Segment.objects.create(name="Gold", rules=GOLD)
    refresh_reach(segment, now=NOW)
    segment.refresh_from_db()
    assert (segment.last_reach, segment.last_reachable["any"], segment.last_computed_at) == (3, 2, NOW)


def test_a_property_no_profile_has_yet_is_allowed_with_a_note(audience):
    rules = {"conditions": [GOLD["conditions"][0], {"kind": "property", "name": "tierr", "op": "is_set"}]}
    tree = parse(rules)
    assert list(rule_notes(tree)) == ["1"]
    assert "No profile has 'tierr' yet" in rule_notes(tree)["1"]
    assert estimate_reach(tree, now=NOW).qualified == 0


def test_an_unknown_event_gets_a_note(audience):
    Event.objects.create(profile=Profile.objects.get(identity="web"), name="Known", occurred_at=NOW)
    tree = parse({"conditions": [{"kind": "event", "event": "Known"}, {"kind": "event", "event": "Unknown"}]})
    assert list(rule_notes(tree)) == ["1"]


def test_values_and_places_are_suggested_from_the_data(audience):
    assert suggest_values("tier") == ["Gold", "Silver"]
    assert suggest_values("tier", prefix="s") == ["Silver"]
    places = suggest_places("pa")
    assert [(p["city"], p["n"]) for p in places] == [("Paris", 2)]
    assert places[0]["lat"] == pytest.approx(48.86)


def test_an_event_property_nobody_sent_gets_a_note(audience):
    Event.objects.create(profile=Profile.objects.get(identity="web"), name="Charged", occurred_at=NOW)
    note_properties("event", [{"amount": 5}], event_name="Charged")
    filters = [{"name": "amount", "op": "greater", "value": 1}]
    typo = [{"name": "amout", "op": "greater", "value": 1}]
    tree = parse({"conditions": [{"kind": "event", "event": "Charged", "filters": filters}]})
    assert rule_notes(tree) == {}
    tree = parse({"conditions": [{"kind": "event", "event": "Charged", "filters": typo}]})
    assert "'amout'" in rule_notes(tree)["0"]


ANY_MIXED = [
    {"kind": "property", "name": "tier", "op": "equals", "value": "Silver"},
    {"kind": "app_field", "field": "app_version", "op": "starts_with", "value": "4.5"},
    {"kind": "event", "event": "Added To Cart", "count": {"op": "at_least", "value": 2}},
]


@pytest.mark.parametrize("match", ["any", "none"])
def test_an_any_of_group_over_the_whole_audience_is_one_list_of_ids(audience, match):
    # Over the whole audience a root any-of group is the ids of each alternative, as one
    # UNION (rules/compiler.py _listed), not an OR tested on every profile; a check of a
    # few given profiles keeps the OR. Both select the same people.
    both = Profile.objects.get(identity="both")
    Device.objects.filter(profile=both, platform="ios").update(app_version="4.5.1")
    web = Profile.objects.get(identity="web")
    Event.objects.bulk_create([Event(profile=web, name="Added To Cart", occurred_at=NOW) for _ in range(2)])
    tree = parse({"match": match, "conditions": ANY_MIXED})
    listed = str(profiles(tree, now=NOW).query)
    assert listed.count(" UNION ") == 2 and "EXISTS" not in listed
    assert " UNION " not in str(Profile.objects.filter(compile_rules(tree, now=NOW)).query)
    chosen = {"silver", "both", "web"} if match == "any" else {"gold-unreachable"}
    assert set(profiles(tree, now=NOW).values_list("identity", flat=True)) == chosen
    assert set(Profile.objects.filter(compile_rules(tree, now=NOW)).values_list("identity", flat=True)) == chosen
    reach = estimate_reach(tree, now=NOW)
    assert reach.qualified == len(chosen)
    # An any-of group is counted from its list without the profile table (_count_listed):
    # the same counts as the count over profiles.
    assert reach == _count_profiles(tree, NOW, "reachable")
    assert reach.reachable == (
        {"web": 1, "android": 1, "ios": 0, "any": 2} if match == "any" else dict.fromkeys(reach.reachable, 0)
    )


@pytest.mark.django_db(transaction=True)
def test_the_reach_counts_planner_settings_end_with_its_transaction():
    """estimate_reach costs parallel plans cheaper and turns JIT off for its own query: a
    connection the request goes on using (or a pooled one) keeps PostgreSQL's settings."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("planner settings are PostgreSQL's")
    names = ("jit", "parallel_setup_cost", "parallel_tuple_cost")

    def current():
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(f"current_setting('{name}')" for name in names))
            return cursor.fetchone()

    before = current()
    seen = []
    with connection.execute_wrapper(lambda execute, sql, *rest: (seen.append(sql), execute(sql, *rest))[1]):
        estimate_reach(parse(GOLD), now=NOW)
    assert any("parallel_setup_cost" in sql for sql in seen)  # the count was made under its settings
    assert current() == before
