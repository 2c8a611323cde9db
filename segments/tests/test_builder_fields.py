"""The profile's own fields in the segment builder: offered in the condition menu,
read from the form and drawn back, counted by the builder's reach, suggested."""

import html
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from segments.actions.properties import forget_cache, note_properties
from segments.forms.builder import Types, read_form
from segments.forms.builder_display import form_from_rules
from segments.models import Profile, Segment
from segments.rules import parse
from segments.rules.compiler import profiles
from segments.rules.tree import PROFILE_FIELDS

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

# One condition per profile field, each with an operator of its type.
EACH_FIELD = {
    "name": {"op": "contains", "value": "smith"},
    "email": {"op": "is_set"},
    "phone": {"op": "starts_with", "value": "+44"},
    "identity": {"op": "starts_with", "value": "anon:"},
    "language": {"op": "equals", "value": "en"},
    "timezone": {"op": "in", "values": ["Europe/London", "Europe/Paris"]},
    "is_test": {"op": "equals", "value": True},
    "date_of_birth": {"op": "between", "min": "1980-01-01", "max": "1999-12-31"},
    "created_at": {"op": "in_last_days", "value": 30},
    "updated_at": {"op": "greater", "value": "2026-11-01"},
    "last_seen_at": {"op": "over_days_ago", "value": 7},
}


def field(name, **rest):
    return {"kind": "field", "field": name, **(rest or EACH_FIELD[name])}


def rules(*conditions, match="all"):
    return {"match": match, "conditions": list(conditions)}


def post(client, url, rules_, action="apply", **extra):
    data = form_from_rules(rules_) | {"action": action, "name": "", "description": ""} | extra
    return client.post(url, data, headers={"HX-Request": "true"})


def message_of(response, node_id):
    found = re.search(rf'id="{node_id}-msg"[^>]*>(.*?)</div>', response.content.decode(), re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1))).strip()) if found else ""


class _Form(HTMLParser):
    """The fields a browser would post from a drawn builder: inputs, checked boxes,
    each select's selected option."""

    def __init__(self):
        super().__init__()
        self.fields, self.select = {}, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name", "")
        if tag == "input" and name.startswith("r.") and attrs.get("type") not in ("checkbox", "radio"):
            self.fields[name] = attrs.get("value") or ""
        elif tag == "input" and name.startswith("r.") and "checked" in attrs:
            self.fields.setdefault(name, []).append(attrs.get("value"))
        elif tag == "select":
            self.select = name if name.startswith("r.") else None
        elif tag == "option" and self.select and "selected" in attrs:
            self.fields[self.select] = attrs.get("value")


def posted_back(page):
    form = _Form()
    form.feed(page)
    return form.fields


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def audience(db):
    forget_cache()
    rows = [
        {"identity": "ann", "name": "Ann Smith", "email": "ann@example.com", "language": "en-GB"},
        {"identity": "bo", "name": "Bo", "phone": "+447700900123", "language": "en", "timezone": "Europe/London"},
        {"identity": "anon:1", "language": "fr-FR", "timezone": "Europe/Paris", "is_test": True},
        {"identity": "cy", "language": "pt-BR", "last_seen_at": NOW - timedelta(days=30)},
    ]
    for row in rows:
        Profile.objects.create(**row)
    Profile.objects.filter(identity="cy").update(created_at=NOW - timedelta(days=90))


@pytest.mark.parametrize("name", list(EACH_FIELD))
def test_a_field_condition_survives_the_round_trip_through_the_form(name):
    edit = read_form(form_from_rules(rules(field(name))), types=Types())
    assert edit.rules == rules(field(name))
    assert edit.errors == {}
    parse(edit.rules)


def test_every_profile_field_has_a_test_here():
    assert set(EACH_FIELD) == set(PROFILE_FIELDS)


def test_the_menu_posts_the_field_as_the_kind():
    fields = form_from_rules(rules(field("language")))
    assert (fields["r.0.kind"], fields["r.0.was"], fields["r.0.op"], fields["r.0.value"]) == (
        "field:language",
        "field:language",
        "equals",
        "en",
    )


def test_choosing_another_field_starts_the_condition_afresh():
    fields = form_from_rules(rules(field("language"))) | {"r.0.kind": "field:last_seen_at"}
    assert read_form(fields).rules == rules(field("last_seen_at", op="in_last_days", value=30))
    fields = form_from_rules(rules(field("language"))) | {"r.0.kind": "field:is_test"}
    assert read_form(fields).rules == rules(field("is_test", op="equals", value=True))


def test_an_unknown_field_in_the_menu_is_reported_at_its_condition():
    fields = form_from_rules(rules(field("language"))) | {"r.0.kind": "field:password", "r.0.was": "field:password"}
    assert "unknown kind of condition" in read_form(fields).errors["0"]


def test_a_hand_made_post_naming_no_field_is_answered_with_its_message(marketer, audience):
    for kind in ("field:password", "field:", "field"):
        data = {"r.match": "all", "r.0.kind": kind, "r.0.was": kind, "r.0.op": "equals", "r.0.value": "x"}
        response = marketer.post("/segments/new/", data | {"action": "apply"}, headers={"HX-Request": "true"})
        assert response.status_code == 200
        assert "Unknown kind of condition" in message_of(response, "r-0")


def test_the_condition_menu_lists_every_built_in_field(marketer, audience):
    response = post(marketer, "/segments/new/", rules(), "add-condition r")
    page = response.content.decode()
    menu = re.search(r'<select name="r.0.kind".*?</select>', page, re.S).group(0)
    for value, label in [
        ("field:name", "Name"),
        ("field:email", "Email"),
        ("field:phone", "Phone"),
        ("field:language", "Language"),
        ("field:timezone", "Time zone"),
        ("field:date_of_birth", "Date of birth"),
        ("field:created_at", "First seen"),
        ("field:last_seen_at", "Last seen"),
        ("field:updated_at", "Last updated"),
        ("field:identity", "Identity"),
        ("field:is_test", "Test profile"),
        ("age", "Age"),
        ("gender", "Gender"),
        ("geo", "Country, region or city"),
    ]:
        assert f'<option value="{value}">{label}</option>' in menu
    assert '<optgroup label="Profile">' in menu


@pytest.mark.parametrize("name", list(EACH_FIELD))
def test_the_builder_counts_each_field_condition_as_the_query_does(marketer, audience, name):
    response = post(marketer, "/segments/new/", rules(field(name)), "estimate")
    assert response.status_code == 200
    assert response.context["reach"] is not None, message_of(response, "r-0")
    expected = profiles(parse(rules(field(name))), now=NOW).count()
    assert response.context["reach"].qualified == expected
    assert message_of(response, "r-0") == ""


def test_the_builder_draws_each_field_with_its_operators(marketer, audience):
    page = post(marketer, "/segments/new/", rules(*(field(name) for name in EACH_FIELD))).content.decode()
    assert 'name="r.0.kind" id="r-0-kind"' in page
    assert '<option value="field:language" selected>Language</option>' in page
    assert '<option value="in_last_days" selected>in the last … days</option>' in page  # first seen
    assert '<option value="over_days_ago" selected>more than … days ago</option>' in page  # last seen
    assert 'name="r.8.value" id="r-8-value" value="30"' in page
    assert '<option value="equals" selected>is</option>' in page  # test profile is…
    assert 'type="date" name="r.7.min" id="r-7-min" value="1980-01-01"' in page
    assert "en also selects regional tags" in page


def test_what_the_builder_draws_posts_back_the_same_conditions(marketer, audience):
    """The browser posts the drawn fields, not form_from_rules: the hidden "was" must
    name the field too, or every edit would start the condition afresh."""
    drawn = rules(*(field(name) for name in EACH_FIELD))
    page = post(marketer, "/segments/new/", drawn).content.decode()
    again = marketer.post("/segments/new/", posted_back(page) | {"action": "apply"}, headers={"HX-Request": "true"})
    assert read_form(posted_back(again.content.decode())).rules == drawn


def test_saving_a_field_condition_keeps_it(marketer, audience):
    response = post(marketer, "/segments/new/", rules(field("language")), "save", name="English")
    assert response.status_code == 200
    assert Segment.objects.get(name="English").rules == rules(field("language"))


def test_a_bad_language_or_time_zone_is_shown_at_its_condition(marketer, audience):
    response = post(
        marketer,
        "/segments/new/",
        rules(field("language", op="equals", value="en_GB"), field("timezone", op="equals", value="London")),
    )
    assert "'en_GB' is not a language tag" in message_of(response, "r-0")
    assert "'London' is not an IANA time zone name" in message_of(response, "r-1")


def test_a_property_named_like_a_profile_field_points_to_the_field(marketer, audience):
    note_properties("profile", [{"customer_type": "Gold"}])
    condition = {"kind": "property", "name": "language", "op": "equals", "value": "en"}
    response = post(marketer, "/segments/new/", rules(condition))
    assert "Language is a profile field of its own: choose Language in the condition menu." in message_of(
        response, "r-0"
    )


def test_languages_are_suggested_with_their_primary_language_first(marketer, audience):
    response = marketer.get(
        "/segments/suggest/",
        {"what": "column", "field": "language", "field_prefix": "r.0.", "r.0.value": "en"},
    )
    options = re.findall(r'value="([^"]+)"', response.content.decode())
    assert options[0] == "en"
    assert set(options) == {"en", "en-GB"}


def test_time_zones_are_suggested_from_the_data(marketer, audience):
    response = marketer.get(
        "/segments/suggest/",
        {"what": "column", "field": "timezone", "field_prefix": "r.0.", "r.0.values": "Europe/London, Europe/P"},
    )
    assert re.findall(r'value="([^"]+)"', response.content.decode()) == ["Europe/London, Europe/Paris"]


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path  # the demo logins keep their password here
    forget_cache()
    call_command("seed_demo", profiles=120, stdout=StringIO())


def test_the_seeds_language_segment_counts_every_english_speaker_of_the_demo(marketer, demo):
    """Issue 14: "language equals en" said "No profile has 'language' yet" although
    every demo profile has a language."""
    languages = list(Profile.objects.values_list("language", flat=True))
    assert all(languages)  # the demo gives everyone a language
    english = sum(1 for tag in languages if tag.lower() == "en" or tag.lower().startswith("en-"))
    assert 0 < english < len(languages)

    response = post(marketer, "/segments/new/", rules(field("language", op="equals", value="en")), "estimate")

    assert response.context["reach"].qualified == english
    assert message_of(response, "r-0") == ""


def test_the_demo_has_the_seeds_english_californians_segment_and_it_selects_some(marketer, demo):
    segment = Segment.objects.get(name="English speakers in California, 25 to 40")
    response = marketer.get(f"/segments/{segment.pk}/")
    assert response.status_code == 200
    assert '<option value="field:language" selected>Language</option>' in response.content.decode()
    chosen = profiles(parse(segment.rules), now=NOW)
    assert chosen.exists()
    assert {(p.region, p.language[:2]) for p in chosen} == {("California", "en")}
