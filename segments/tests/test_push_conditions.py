"""Push status per channel and "subscribed to category X" (seed 002): the rule parser,
the compiler's counts (what the builder's estimate and a saved segment's reach count),
the matcher beside it, and the segment builder that writes them."""

import base64
import html
import json
import re
from datetime import UTC, datetime

import pytest
import time_machine

from campaigns.summary import rules_text
from segments.actions.reach import estimate_reach, refresh_reach
from segments.forms.builder import read_form
from segments.forms.builder_display import form_from_rules
from segments.models import Device, Profile, Segment, Site
from segments.rules import RuleError, parse
from segments.rules.compiler import profiles
from segments.rules.matcher import matches

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ASK_ON_WEB = {"kind": "push_status", "channel": "web", "values": ["ask"]}
OFFERS = {"kind": "push_category", "channel": "any", "values": ["offers"]}


def rules(*conditions, match="all"):
    return {"match": match, "conditions": list(conditions)}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def people(db):
    """Each person's devices: (platform, push status, categories, retired)."""
    devices = {
        "web-ask": [("web", "ask", [], False)],
        "web-allowed-offers": [("web", "allowed", ["offers", "news"], False)],
        "web-blocked-but-app-ask": [("web", "blocked", [], False), ("android", "ask", [], False)],
        "web-ask-retired": [("web", "ask", [], True)],
        "ios-allowed-offers": [("ios", "allowed", ["offers"], False)],
        "web-suspended-offers": [("web", "suspended", ["offers"], False)],
        "web-allowed-offers-retired": [("web", "allowed", ["offers"], True)],
        "app-unsupported": [("android", "unsupported", ["Offers"], False)],
        "no-device": [],
    }
    for identity, owned in devices.items():
        person = Profile.objects.create(identity=identity)
        for index, (platform, status, categories, retired) in enumerate(owned):
            address = f"{identity}-{index}"
            Device.objects.create(
                profile=person,
                platform=platform,
                push_status=status,
                categories=categories,
                endpoint=f"https://push.example/{address}" if platform == "web" and status != "suspended" else "",
                token=address if platform != "web" else "",
                retired_at=NOW if retired else None,
            )
    return devices


def selected(rules_):
    """Who the compiler selects, after checking that the matcher selects the same."""
    tree = parse(rules_)
    by_query = set(profiles(tree, now=NOW).values_list("identity", flat=True))
    by_python = {
        person.identity
        for person in Profile.objects.prefetch_related("devices")
        if matches(tree, person, devices=list(person.devices.all()), events=[], now=NOW)
    }
    assert by_query == by_python
    return by_query


# The parser.


@pytest.mark.parametrize(
    "condition, message",
    [
        (ASK_ON_WEB | {"values": ["maybe"]}, "push status needs one or more of ask, allowed, blocked"),
        (ASK_ON_WEB | {"values": []}, "push status needs one or more of"),
        (ASK_ON_WEB | {"values": [["ask"]]}, "push status needs one or more of"),
        (ASK_ON_WEB | {"channel": "android"}, "channel must be one of web, mobile, any"),
        (OFFERS | {"values": []}, "choose at least one category"),
        (OFFERS | {"values": ["x" * 101]}, "a category is text of 1 to 100 characters"),
        (OFFERS | {"values": ["off\x00ers"]}, "without control characters"),
        (OFFERS | {"values": [7]}, "a category is text"),
        (OFFERS | {"values": [f"c{n}" for n in range(51)]}, "at most 50 categories"),
    ],
)
def test_a_bad_push_condition_is_refused_at_its_path(condition, message):
    with pytest.raises(RuleError) as refused:
        parse(rules({"kind": "age", "min": 1, "max": 2}, condition))
    assert list(refused.value.errors) == ["1"]
    assert message in refused.value.errors["1"]


def test_a_category_of_a_hundred_characters_is_accepted():
    tree = parse(rules(OFFERS | {"values": ["x" * 100, "new arrivals"]}))
    assert tree.conditions[0].categories == ("x" * 100, "new arrivals")


# Counts: the compiler, with the matcher agreeing on each.


def test_push_status_asks_about_any_one_device_of_the_channel(people):
    assert selected(rules(ASK_ON_WEB)) == {"web-ask"}
    assert selected(rules(ASK_ON_WEB | {"channel": "mobile"})) == {"web-blocked-but-app-ask"}
    assert selected(rules(ASK_ON_WEB | {"channel": "any"})) == {"web-ask", "web-blocked-but-app-ask"}
    assert selected(rules(ASK_ON_WEB | {"values": ["blocked", "suspended"]})) == {
        "web-blocked-but-app-ask",
        "web-suspended-offers",
    }
    assert selected(rules(ASK_ON_WEB | {"channel": "mobile", "values": ["unsupported", "allowed"]})) == {
        "app-unsupported",
        "ios-allowed-offers",
    }


def test_no_device_on_the_channel_is_no_status_there(people):
    # "none of" is how a marketer says "web status is not Ask": it keeps people with no web device.
    assert "no-device" not in selected(rules(ASK_ON_WEB | {"channel": "any", "values": list(PUSH_ALL)}))
    assert "no-device" in selected(rules(ASK_ON_WEB, match="none"))


PUSH_ALL = ("ask", "allowed", "blocked", "unsupported", "suspended")


def test_a_category_counts_people_push_reaches_through_a_device_that_chose_it(people):
    # Not the suspended device, nor the retired one, nor "Offers" on an unsupported app.
    assert selected(rules(OFFERS)) == {"web-allowed-offers", "ios-allowed-offers"}
    assert selected(rules(OFFERS | {"channel": "web"})) == {"web-allowed-offers"}
    assert selected(rules(OFFERS | {"channel": "mobile", "values": ["news", "offers"]})) == {"ios-allowed-offers"}
    assert selected(rules(OFFERS | {"values": ["news"]})) == {"web-allowed-offers"}
    assert selected(rules(OFFERS | {"values": ["offer"]})) == set()


def test_categories_that_are_not_a_list_hold_nothing(people):
    person = Profile.objects.get(identity="web-allowed-offers")
    person.devices.update(categories="offers")
    assert selected(rules(OFFERS | {"channel": "web"})) == set()


def test_the_estimate_and_a_saved_segments_reach_count_them(people):
    reach = estimate_reach(parse(rules(OFFERS)), now=NOW)
    assert (reach.qualified, reach.reachable["web"], reach.reachable["ios"]) == (2, 1, 1)
    segment = Segment.objects.create(name="Asked on the web", rules=rules(ASK_ON_WEB))
    refresh_reach(segment, now=NOW)
    segment.refresh_from_db()
    assert (segment.last_reach, segment.last_reachable["any"]) == (1, 0)


# The builder.


def test_both_conditions_survive_the_round_trip_through_the_form():
    both = rules(ASK_ON_WEB | {"values": ["ask", "suspended"]}, OFFERS | {"values": ["offers", "new arrivals"]})
    edit = read_form(form_from_rules(both))
    assert (edit.rules, edit.errors) == (both, {})


def test_categories_are_typed_with_commas():
    fields = form_from_rules(rules(OFFERS)) | {"r.0.values": " offers,, new arrivals ,"}
    assert read_form(fields).rules == rules(OFFERS | {"values": ["offers", "new arrivals"]})


def post(client, rules_, action="apply", **fields):
    data = form_from_rules(rules_) | {"action": action, "name": "", "description": ""} | fields
    return client.post("/segments/new/", data, headers={"HX-Request": "true"})


def message_of(response, node_id):
    found = re.search(rf'id="{node_id}-msg"[^>]*>(.*?)</div>', response.content.decode(), re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1))).strip()) if found else None


def test_the_builder_draws_the_conditions_and_counts_them(marketer, people):
    response = post(marketer, rules(ASK_ON_WEB, OFFERS | {"channel": "web"}, match="any"), "add-condition r")
    page = response.content.decode()
    assert re.search(r'<option value="push_status" selected>Push status</option>', page)
    assert re.search(r'name="r.0.values" value="ask" id="r-0-status-ask"[^>]*checked', page)
    assert not re.search(r'id="r-0-status-blocked"[^>]*checked', page)
    assert '<option value="web" selected>Web push (browsers)</option>' in page
    assert 'name="r.1.values" id="r-1-values" value="offers"' in page
    assert "Any one of the person's devices on the channel counts" in page
    reach = post(marketer, rules(ASK_ON_WEB, OFFERS | {"channel": "web"}, match="any"), "estimate")
    assert reach.context["reach"].qualified == 2  # web-ask, web-allowed-offers


def test_the_builder_says_what_is_wrong_at_the_condition_and_saves_nothing(marketer, people):
    bad = post(marketer, rules(ASK_ON_WEB | {"values": ["maybe"]}, OFFERS), "save", name="Bad status")
    assert bad.status_code == 422
    assert message_of(bad, "r-0").startswith("Push status needs one or more of ask")
    too_long = post(marketer, rules(ASK_ON_WEB, OFFERS | {"values": ["y" * 101]}), "save", name="Bad category")
    assert message_of(too_long, "r-1").startswith("A category is text of 1 to 100 characters")
    assert not Segment.objects.exists()


def test_a_category_is_shown_as_text_not_html(marketer, people):
    evil = "<img src=x onerror=alert(1)>"
    segment = Segment.objects.create(name="Evil", rules=rules(OFFERS | {"values": [evil]}))
    page = marketer.get(f"/segments/{segment.pk}/").content.decode()
    assert evil not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_saving_keeps_the_rules_and_their_reach(marketer, people):
    response = post(marketer, rules(OFFERS | {"channel": "mobile"}), "save", name="Offers in the apps")
    segment = Segment.objects.get()
    assert response.headers["HX-Redirect"] == f"/segments/{segment.pk}/"
    assert (segment.rules, segment.last_reach, segment.last_reachable["ios"]) == (
        rules(OFFERS | {"channel": "mobile"}),
        1,
        1,
    )


def test_the_overview_says_them_in_words():
    assert rules_text(rules(ASK_ON_WEB | {"values": ["ask", "blocked"]}, OFFERS | {"values": ["offers", "news"]})) == (
        "web push status is ask or blocked and subscribed to offers or news (any device)"
    )


def test_categories_are_suggested_from_the_devices_and_shown_as_text(marketer, people):
    Device.objects.filter(profile__identity="ios-allowed-offers").update(categories=["offers", "<b>news</b>"])
    typed = {"what": "categories", "field_prefix": "r.0.", "r.0.values": "news, "}
    found = marketer.get("/segments/suggest/", typed).content.decode()
    # Most chosen first ("offers" by four devices), then by name; the list typed so far is kept.
    assert re.findall(r'value="([^"]*)"', found) == [
        "news, offers",
        "news, &lt;b&gt;news&lt;/b&gt;",
        "news, Offers",
        "news, news",
    ]
    only_o = marketer.get("/segments/suggest/", {"what": "categories", "field_prefix": "r.0.", "r.0.values": "o"})
    assert re.findall(r'value="([^"]*)"', only_o.content.decode()) == ["offers", "Offers"]
    page = post(marketer, rules(OFFERS), "apply").content.decode()
    assert 'list="r-0-dl"' in page and "&quot;what&quot;: &quot;categories&quot;" in page


def test_a_browser_moves_between_segments_as_the_sdk_reports_its_permission(client, db):
    # Seed 002's journey on the public endpoints: Ask, then Subscribe with a category, then Blocked.
    origin, client_id = "https://shop.example.com", "c0ffee00-1111-4222-8333-444455556666"
    site = Site.objects.create(name="Shop", allowed_origins=[origin])

    def sdk(endpoint, **fields):
        body = json.dumps({"siteKey": site.key, "clientId": client_id, **fields})
        response = client.post(f"/sdk/v1/{endpoint}", body, content_type="text/plain", headers={"Origin": origin})
        assert response.status_code == 200, response.content

    def counted(*conditions):
        return estimate_reach(parse(rules(*conditions)), now=NOW).qualified

    key = base64.urlsafe_b64encode(b"\x04" + bytes(range(64))).rstrip(b"=").decode()
    secret = base64.urlsafe_b64encode(bytes(range(16))).rstrip(b"=").decode()
    web_offers = OFFERS | {"channel": "web"}
    sdk("status", status="ask")
    assert (counted(ASK_ON_WEB), counted(web_offers)) == (1, 0)
    subscription = {"endpoint": "https://fcm.googleapis.com/fcm/send/abc", "keys": {"p256dh": key, "auth": secret}}
    sdk("subscriptions", subscription=subscription, categories=["offers"])
    assert (counted(ASK_ON_WEB), counted(web_offers), counted(ASK_ON_WEB | {"values": ["allowed"]})) == (0, 1, 1)
    sdk("status", status="blocked")
    assert (counted(web_offers), counted(ASK_ON_WEB | {"values": ["blocked"]})) == (0, 1)
