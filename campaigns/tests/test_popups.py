"""POST /sdk/v1/popups: the Web Exit Intent pop-up a page of a customer's site gets, per
targeting kind and site, rendered for the visitor as plain text, once per campaign and day
(given again, with the same message id, until it is shown)."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from campaigns.models import Campaign, Variant
from delivery.models import Message
from segments.actions.sdk import identify_browser
from segments.models import Event, Profile, Site

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ORIGIN = "https://shop.example.com"
PAGE = f"{ORIGIN}/cart"
CONTENT = {
    "title": "Wait, {{ profile.first_name | default: 'friend' }}!",
    "body": "10% off today",
    "button_text": "Get it",
    "click_action": "js",
    "js_function": "shop.openCoupon",
}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def site():
    return Site.objects.create(name="Shop", allowed_origins=[ORIGIN])


@pytest.fixture
def ask(client, site):
    client_id = str(uuid.uuid4())

    def ask(origin=ORIGIN, **fields):
        body = {"siteKey": site.key, "clientId": client_id, "url": PAGE, "referrer": "", "pageCount": 1, **fields}
        return client.post(
            reverse("sdk-popups"), json.dumps(body), content_type="text/plain", headers={"Origin": origin}
        )

    ask.client_id = client_id
    return ask


def popup(trigger, content=CONTENT, status=Campaign.Status.RUNNING, **fields):
    campaign = Campaign.objects.create(
        name="Leaving?",
        channel=Campaign.Channel.EXIT_INTENT,
        kind=Campaign.Kind.SINGLE_ACTION,
        status=status,
        exit_trigger=trigger,
        **fields,
    )
    Variant.objects.create(campaign=campaign, content=content)
    campaign.sites.set(Site.objects.all())
    return campaign


def given(response):
    assert response.status_code == 200, response.content
    return [item["campaign"] for item in response.json()["popups"]]


@pytest.mark.parametrize(
    ("trigger", "page", "expected"),
    [
        ({"type": "page_visit", "match": "contains", "url": "/cart"}, {}, True),
        ({"type": "page_visit", "match": "contains", "url": "/checkout"}, {}, False),
        ({"type": "page_visit", "match": "equals", "url": PAGE}, {"url": PAGE + "#top"}, True),
        ({"type": "page_visit", "match": "equals", "url": PAGE}, {"url": PAGE + "/items"}, False),
        ({"type": "page_visit", "match": "contains", "url": "other.example/cart"}, {}, False),
        (
            {"type": "page_referral", "referrer": "utm_source=spring"},
            {"referrer": "https://ad.example/?utm_source=spring"},
            True,
        ),
        ({"type": "page_referral", "referrer": "utm_source=spring"}, {"referrer": "https://ad.example/"}, False),
        ({"type": "page_count", "count": 3}, {"pageCount": 3}, True),
        ({"type": "page_count", "count": 3}, {"pageCount": 2}, False),
    ],
    ids=[
        "visit contains",
        "visit contains, other page",
        "visit equals, fragment ignored",
        "visit equals, longer address",
        "visit on another site's address",
        "referral contains",
        "referral from elsewhere",
        "count reached",
        "count not reached",
    ],
)
def test_a_page_gets_the_pop_up_whose_targeting_matches_it(ask, trigger, page, expected):
    campaign = popup(trigger)
    assert given(ask(**page)) == ([campaign.pk] if expected else [])


def test_single_action_needs_the_event_with_its_filters_in_the_last_30_minutes(ask, clock):
    trigger = {
        "type": "single_action",
        "event": "Added To Cart",
        "filters": [{"name": "price", "op": "greater", "value": 20}],
    }
    campaign = popup(trigger)
    identify_browser(ask.client_id, "ada", vouched=True)
    profile = Profile.objects.get(identity="ada")
    Event.objects.create(
        profile=profile, name="Added To Cart", properties={"price": 30}, occurred_at=NOW - timedelta(minutes=31)
    )
    Event.objects.create(
        profile=profile, name="Added To Cart", properties={"price": 10}, occurred_at=NOW - timedelta(minutes=5)
    )
    assert given(ask()) == []

    Event.objects.create(
        profile=profile, name="Added To Cart", properties={"price": 25}, occurred_at=NOW - timedelta(minutes=5)
    )
    assert given(ask()) == [campaign.pk]


@pytest.mark.parametrize(
    ("status", "fields"),
    [
        (Campaign.Status.PAUSED, {}),
        (Campaign.Status.DRAFT, {}),
        (Campaign.Status.RUNNING, {"ends_at": NOW - timedelta(hours=1)}),
        (Campaign.Status.RUNNING, {"starts_at": NOW + timedelta(hours=1)}),
    ],
    ids=["paused", "draft", "ended", "not started"],
)
def test_a_campaign_that_is_not_running_now_gives_nothing(ask, status, fields):
    popup({"type": "page_count", "count": 1}, status=status, **fields)
    assert given(ask()) == []
    assert not Message.objects.exists()


def test_a_web_push_campaign_gives_no_pop_up(ask):
    campaign = popup({"type": "page_count", "count": 1})
    Campaign.objects.filter(pk=campaign.pk).update(channel=Campaign.Channel.WEB_PUSH)
    assert given(ask()) == []


def test_the_content_is_rendered_for_the_visitor_and_a_script_in_their_name_stays_text(ask):
    popup({"type": "page_count", "count": 1})
    identify_browser(ask.client_id, "ada", vouched=True)
    Profile.objects.filter(identity="ada").update(name="<script>alert(1)</script> Lovelace")

    (item,) = ask().json()["popups"]

    assert item["title"] == "Wait, <script>alert(1)</script>!"
    assert item["body"] == "10% off today"
    assert (item["button_text"], item["click_action"], item["js_function"]) == ("Get it", "js", "shop.openCoupon")


def test_a_link_that_is_not_http_is_not_given_to_the_page(ask):
    popup(
        {"type": "page_count", "count": 1},
        content={"title": "Hi", "click_action": "link", "click_url": "javascript:alert(1)"},
    )
    (item,) = ask().json()["popups"]
    assert (item["click_action"], item["click_url"]) == ("none", "")


def shown(response):
    """Mark the pop-up of ``response`` shown, as the SDK's report does."""
    (item,) = response.json()["popups"]
    Message.objects.filter(pk=int(item["message"])).update(viewed_at=NOW)
    return item["campaign"]


def test_a_person_gets_each_campaigns_pop_up_once_a_day(ask, clock):
    first = popup({"type": "page_count", "count": 1})
    second = popup({"type": "page_count", "count": 1})

    assert shown(ask()) == first.pk
    assert shown(ask(pageCount=2)) == second.pk
    assert given(ask(pageCount=3)) == []

    clock.shift(timedelta(days=1))
    assert given(ask()) == [first.pk]
    assert Message.objects.filter(dispatch__run__campaign=first).count() == 2


def test_a_pop_up_given_but_not_shown_is_given_again_with_the_same_message_and_counted_once(ask):
    campaign = popup({"type": "page_count", "count": 1})

    first = ask().json()["popups"]
    again = ask(pageCount=2).json()["popups"]

    assert [item["message"] for item in first] == [item["message"] for item in again]
    assert first[0]["campaign"] == campaign.pk
    assert Message.objects.filter(dispatch__run__campaign=campaign, status="sent").count() == 1


def test_a_campaign_shows_only_on_the_pages_of_its_sites(ask, site):
    campaign = popup({"type": "page_count", "count": 1})
    other = Site.objects.create(name="Blog", allowed_origins=["https://blog.example.com"])
    campaign.sites.set([other])
    assert given(ask()) == []

    campaign.sites.add(site)
    assert given(ask()) == [campaign.pk]


def test_people_in_the_control_group_get_no_pop_up(ask):
    popup({"type": "page_count", "count": 1}, control_group_percent=100)
    assert given(ask()) == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "https://elsewhere.example/cart"}, "url"),
        ({"pageCount": 0}, "pageCount"),
        ({"pageCount": "many"}, "pageCount"),
        ({"referrer": "x" * 2001}, "referrer"),
        ({"clientId": "not valid!"}, "clientId"),
    ],
)
def test_bad_input_is_refused_naming_the_field(ask, fields, field):
    popup({"type": "page_count", "count": 1})
    response = ask(**fields)
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert not Message.objects.exists()


def test_an_origin_the_site_does_not_allow_is_refused(ask):
    popup({"type": "page_count", "count": 1})
    response = ask(origin="https://evil.example")
    assert response.status_code == 403
    assert "https://evil.example" in response.json()["detail"]
    assert not Message.objects.exists()
