"""POST /sdk/v1/onboarding and /onboarding/report: the soft-onboarding banner of a running
"Push permission request" campaign (seed 002) goes only to browsers whose status is Ask,
"Maybe later" hides it for the campaign's days, reports count once each and only from the
browser the prompt was given to."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from accounts import roles
from campaigns import counts
from campaigns.models import Campaign, PermissionPrompt, Variant
from segments.actions.devices import save_subscription
from segments.models import Device, Profile, Segment, Site

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ORIGIN = "https://shop.example.com"
ENDPOINT = "https://fcm.googleapis.com/fcm/send/abc"
P256DH = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
AUTH = "tBHItJI5svbpez7KI4CCXg"
CONTENT = {
    "template": "categories",
    "title": "Hi {{ profile.first_name | default: 'there' }}, stay in the loop",
    "body": "Deals & <news>",
    "subscribe_text": "Subscribe",
    "later_text": "Maybe later",
    "categories": [{"name": "deals", "label": "Deals"}, {"name": "news", "label": "News"}],
    "later_days": 3,
}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def site():
    return Site.objects.create(name="Shop", allowed_origins=[ORIGIN])


class Browser:
    def __init__(self, client, site):
        self.client, self.site, self.client_id = client, site, str(uuid.uuid4())

    def post(self, name, **fields):
        body = {"siteKey": self.site.key, "clientId": self.client_id, **fields}
        return self.client.post(reverse(name), json.dumps(body), content_type="text/plain", headers={"Origin": ORIGIN})

    def ask(self, status="ask"):
        response = self.post("sdk-onboarding", status=status)
        assert response.status_code == 200, response.content
        return response.json()["prompt"]

    def report(self, prompt, event):
        return self.post("sdk-onboarding-report", prompt=prompt, event=event)

    @property
    def device(self):
        return Device.objects.get(client_id=self.client_id)


@pytest.fixture
def browser(client, site):
    return Browser(client, site)


def request_campaign(content=CONTENT, status=Campaign.Status.RUNNING, **fields):
    campaign = Campaign.objects.create(
        name="Push opt-in",
        channel=Campaign.Channel.PERMISSION_REQUEST,
        kind=Campaign.Kind.SINGLE_ACTION,
        status=status,
        **fields,
    )
    Variant.objects.create(campaign=campaign, content=content)
    return campaign


def test_it_gives_the_banner_to_a_browser_whose_status_is_ask(browser):
    campaign = request_campaign()
    prompt = browser.ask()
    assert prompt["campaign"] == campaign.pk
    assert prompt["title"] == "Hi there, stay in the loop"
    assert prompt["body"] == "Deals & <news>"  # plain text: the SDK inserts it as text
    assert prompt["categories"] == [{"name": "deals", "label": "Deals"}, {"name": "news", "label": "News"}]
    assert browser.device.push_status == Device.PushStatus.ASK


@pytest.mark.parametrize("status", ["allowed", "blocked", "unsupported"])
def test_it_gives_nothing_to_a_browser_that_is_not_ask(browser, status):
    request_campaign()
    if status == "allowed":
        save_subscription(browser.client_id, ENDPOINT, P256DH, AUTH)
    assert browser.ask(status) is None
    assert not PermissionPrompt.objects.exists()


def test_it_gives_nothing_to_a_device_stored_as_allowed_whatever_the_page_says(browser):
    # The server's Allowed wins over a page that claims "ask" with its subscription still stored
    # (a revoked permission clears it: report_push_status): only "ask" with no subscription asks.
    request_campaign()
    save_subscription(browser.client_id, ENDPOINT, P256DH, AUTH)
    assert browser.ask("allowed") is None
    assert browser.device.push_status == Device.PushStatus.ALLOWED


def test_a_simple_template_offers_no_categories(browser):
    request_campaign({**CONTENT, "template": "simple"})
    assert browser.ask()["categories"] == []


def test_only_running_campaigns_in_their_window_are_given(browser):
    request_campaign(status=Campaign.Status.PAUSED)
    request_campaign(starts_at=NOW + timedelta(hours=1))
    request_campaign(ends_at=NOW)
    assert browser.ask() is None


def test_a_segment_narrows_who_gets_it(browser):
    segment = Segment.objects.create(
        name="Gold",
        rules={"match": "all", "conditions": [{"kind": "property", "name": "tier", "op": "equals", "value": "Gold"}]},
    )
    request_campaign(segment=segment)
    assert browser.ask() is None
    Profile.objects.filter(pk=browser.device.profile_id).update(properties={"tier": "Gold"})
    assert browser.ask() is not None


def test_a_prompt_not_yet_shown_is_given_again_with_the_same_key(browser):
    request_campaign()
    first = browser.ask()
    assert browser.ask()["prompt"] == first["prompt"]
    assert PermissionPrompt.objects.count() == 1


def test_a_prompt_closed_without_a_choice_is_not_asked_again_that_day(browser, clock):
    request_campaign()
    first = browser.ask()["prompt"]
    assert browser.report(first, "shown").json() == {"recorded": True}
    assert browser.ask() is None
    clock.shift(timedelta(days=1))
    assert browser.ask()["prompt"] != first


def test_maybe_later_hides_it_for_the_campaigns_days_then_it_returns(browser, clock):
    request_campaign()
    prompt = browser.ask()["prompt"]
    assert browser.report(prompt, "later").json() == {"recorded": True}
    assert PermissionPrompt.objects.get().later_until == NOW + timedelta(days=3)
    clock.shift(timedelta(days=3) - timedelta(seconds=1))
    assert browser.ask() is None
    clock.shift(timedelta(seconds=1))
    again = browser.ask()
    assert again is not None and again["prompt"] != prompt


def test_subscribe_stores_the_chosen_categories_on_the_device(browser):
    request_campaign()
    prompt = browser.ask()["prompt"]
    subscription = {"endpoint": ENDPOINT, "keys": {"p256dh": P256DH, "auth": AUTH}}
    response = browser.post("sdk:subscriptions", subscription=subscription, categories=["news"])
    assert response.status_code == 200, response.content
    assert browser.report(prompt, "subscribed").json() == {"recorded": True}
    device = browser.device
    assert device.push_status == Device.PushStatus.ALLOWED and device.categories == ["news"]
    assert browser.ask("allowed") is None


def test_subscribed_and_blocked_are_recorded_only_when_the_device_says_so(browser):
    request_campaign()
    prompt = browser.ask()["prompt"]
    refused = browser.report(prompt, "subscribed")
    assert refused.status_code == 409 and refused.json()["errors"][0]["field"] == "event"
    assert browser.report(prompt, "blocked").status_code == 409
    assert browser.post("sdk:status", status="blocked").status_code == 200
    assert browser.report(prompt, "blocked").json() == {"recorded": True}


def test_each_report_counts_once_and_a_prompt_has_one_answer(browser):
    campaign = request_campaign()
    prompt = browser.ask()["prompt"]
    assert browser.report(prompt, "shown").json() == {"recorded": True}
    assert browser.report(prompt, "shown").json() == {"recorded": False}
    assert browser.report(prompt, "later").json() == {"recorded": True}
    assert browser.report(prompt, "later").json() == {"recorded": False}
    found = counts.prompt_counts(campaign)
    assert (found.shown, found.subscribed, found.blocked, found.later) == (1, 0, 0, 1)


def test_an_answer_counts_the_prompt_as_shown(browser):
    campaign = request_campaign()
    key = browser.ask()["prompt"]
    browser.post("sdk:status", status="blocked")  # what requestPush() reports after a refusal
    assert browser.report(key, "blocked").json() == {"recorded": True}
    found = counts.prompt_counts(campaign)
    assert (found.shown, found.blocked) == (1, 1)


def test_a_report_from_another_browser_is_refused(browser, client, site):
    request_campaign()
    prompt = browser.ask()["prompt"]
    stranger = Browser(client, site)
    stranger.ask()
    response = stranger.report(prompt, "later")
    assert response.status_code == 404 and response.json()["errors"][0]["field"] == "prompt"
    assert PermissionPrompt.objects.get(key=prompt).later_at is None


def test_an_unknown_event_names_the_field(browser):
    request_campaign()
    prompt = browser.ask()["prompt"]
    response = browser.report(prompt, "clicked")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "event"


def test_the_campaign_page_and_its_stats_page_show_the_banners_counts(browser, client_as):
    campaign = request_campaign()
    prompt = browser.ask()["prompt"]
    browser.report(prompt, "later")
    viewer = client_as(roles.VIEWER)
    for url in (reverse("campaigns:detail", args=[campaign.pk]), reverse("stats:campaign", args=[campaign.pk])):
        page = viewer.get(url).content.decode()
        assert 'id="prompt-counts"' in page
        assert '<span data-count="prompt_shown" title="Shown: ' in page
        assert page.split('data-count="prompt_later"', 1)[1].split("</span>", 1)[0].endswith(">1")
        assert page.split('data-count="prompt_subscribed"', 1)[1].split("</span>", 1)[0].endswith(">0")
