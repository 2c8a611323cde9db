"""The profile's own fields as conditions ("kind": "field"), operator by operator,
through the compiler and the matcher (``selected`` checks that they agree)."""

from datetime import date, timedelta

import pytest

from segments.models import Profile
from segments.rules import RuleError, parse
from segments.tests.test_rules import NOW, selected


def field(name, op, **rest):
    return {"kind": "field", "field": name, "op": op, **rest}


@pytest.fixture
def people(db):
    rows = {
        "ana": {
            "name": "Ana Souza",
            "email": "ana@example.com",
            "phone": "+5511912345678",
            "language": "pt-BR",
            "timezone": "America/Sao_Paulo",
            "date_of_birth": date(1990, 5, 17),
            "last_seen_at": NOW - timedelta(days=2),
        },
        "bob": {
            "name": "Bob Smith",
            "email": "Bob@Example.org",
            "language": "en-GB",
            "timezone": "Europe/London",
            "is_test": True,
            "last_seen_at": NOW - timedelta(days=40),
        },
        "cy": {"name": "Cy", "language": "EN", "timezone": "America/New_York", "phone": "+14155550100"},
        "dee": {"identity": "anon:7f3a"},
        "eve": {"name": "Eve", "language": "eng", "timezone": "Europe/Paris"},
    }
    found = {}
    for key, fields in rows.items():
        found[key] = Profile.objects.create(identity=fields.pop("identity", key), **fields)
    # auto_now_add and auto_now set these on save: set them as the test needs.
    Profile.objects.filter(identity="ana").update(created_at=NOW - timedelta(days=3), updated_at=NOW)
    Profile.objects.filter(identity="bob").update(created_at=NOW - timedelta(days=400), updated_at=NOW)
    Profile.objects.exclude(identity__in=["ana", "bob"]).update(
        created_at=NOW - timedelta(days=30, hours=13), updated_at=NOW - timedelta(days=30)
    )
    return found


def test_language_equals_a_language_matches_its_regional_tags_ignoring_case(people):
    assert selected(field("language", "equals", value="en")) == {"bob", "cy"}
    assert selected(field("language", "equals", value="EN-gb")) == {"bob"}
    assert selected(field("language", "equals", value="pt")) == {"ana"}


def test_language_not_equals_and_in(people):
    assert selected(field("language", "not_equals", value="en")) == {"ana", "eve"}
    assert selected(field("language", "in", values=["pt", "eng"])) == {"ana", "eve"}


def test_language_contains_starts_with_and_presence(people):
    assert selected(field("language", "starts_with", value="e")) == {"bob", "cy", "eve"}
    assert selected(field("language", "contains", value="br")) == {"ana"}
    assert selected(field("language", "is_not_set")) == {"anon:7f3a"}


def test_text_fields_equal_exactly_and_contain_ignoring_case(people):
    assert selected(field("email", "equals", value="bob@example.org")) == set()
    assert selected(field("email", "equals", value="Bob@Example.org")) == {"bob"}
    assert selected(field("email", "contains", value="EXAMPLE")) == {"ana", "bob"}
    assert selected(field("name", "starts_with", value="bob")) == {"bob"}
    assert selected(field("phone", "starts_with", value="+1")) == {"cy"}
    assert selected(field("identity", "starts_with", value="anon:")) == {"anon:7f3a"}


def test_text_not_equals_leaves_out_people_without_a_value(people):
    assert selected(field("name", "not_equals", value="Cy")) == {"ana", "bob", "eve"}


def test_email_and_phone_presence(people):
    assert selected(field("email", "is_set")) == {"ana", "bob"}
    assert selected(field("phone", "is_not_set")) == {"bob", "anon:7f3a", "eve"}


def test_time_zone_equals_and_in_a_list(people):
    assert selected(field("timezone", "equals", value="Europe/London")) == {"bob"}
    assert selected(field("timezone", "in", values=["Europe/London", "Europe/Paris"])) == {"bob", "eve"}
    assert selected(field("timezone", "starts_with", value="america/")) == {"ana", "cy"}


def test_test_profile_is_true_or_false(people):
    assert selected(field("is_test", "equals", value=True)) == {"bob"}
    assert selected(field("is_test", "equals", value=False)) == {"ana", "cy", "anon:7f3a", "eve"}


def test_last_seen_in_the_last_days_and_more_than_days_ago(people):
    assert selected(field("last_seen_at", "in_last_days", value=7)) == {"ana"}
    assert selected(field("last_seen_at", "over_days_ago", value=30)) == {"bob"}
    # Never seen is neither, and "none of" does not make it both.
    assert selected(field("last_seen_at", "in_last_days", value=7), match="none") == {"bob", "cy", "anon:7f3a", "eve"}
    assert selected(field("last_seen_at", "is_not_set")) == {"cy", "anon:7f3a", "eve"}


def test_first_seen_before_after_and_between_whole_utc_days(people):
    day = (NOW - timedelta(days=30)).date()  # cy, dee and eve were first seen the day before
    assert selected(field("created_at", "in_last_days", value=30)) == {"ana"}
    assert selected(field("created_at", "less", value=day.isoformat())) == {"bob", "cy", "anon:7f3a", "eve"}
    assert selected(field("created_at", "greater", value=(day - timedelta(days=2)).isoformat())) == {
        "ana",
        "cy",
        "anon:7f3a",
        "eve",
    }
    before = (day - timedelta(days=1)).isoformat()
    assert selected(field("created_at", "between", min=before, max=before)) == {"cy", "anon:7f3a", "eve"}
    assert selected(field("updated_at", "over_days_ago", value=1)) == {"cy", "anon:7f3a", "eve"}


def test_date_of_birth_before_after_between_and_set(people):
    assert selected(field("date_of_birth", "less", value="1990-05-17")) == set()
    assert selected(field("date_of_birth", "greater", value="1990-05-16")) == {"ana"}
    assert selected(field("date_of_birth", "between", min="1990-05-17", max="1990-05-17")) == {"ana"}
    assert selected(field("date_of_birth", "is_set")) == {"ana"}


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (field("nickname", "equals", value="x"), "field must be one of"),
        (field("language", "equals", value="en_GB"), "'en_GB' is not a language tag"),
        (field("language", "in", values=["en", "*"]), "'*' is not a language tag"),
        (field("language", "equals", value="en\n"), "is not a language tag"),
        (field("timezone", "equals", value="Europe/Pariss"), "not an IANA time zone"),
        (field("is_test", "equals", value="yes"), "Test profile is true or false"),
        (field("name", "greater", value=3), "Name takes equals"),
        (field("last_seen_at", "in_last_days", value=0), "between 1 and 3650"),
        (field("created_at", "greater", value=5), "First seen: after needs a date"),
        (field("date_of_birth", "in_last_days", value=5), "Date of birth takes greater"),
        (field("date_of_birth", "between", min="2000-01-02", max="2000-01-01"), "the earlier first"),
    ],
)
def test_bad_field_conditions_say_what_is_wrong(condition, message):
    with pytest.raises(RuleError) as error:
        parse({"match": "all", "conditions": [condition]})
    assert message in error.value.errors["0"]
