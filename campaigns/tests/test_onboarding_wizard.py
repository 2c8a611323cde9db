"""A "Push permission request" campaign (seed 002, soft onboarding) through the wizard: Start
offers it as a live type, Who asks only who (no reach limits), When only its window (no trigger
event, no DND), What has the two templates with the buttons' titles, the categories and the
"Maybe later" days (1 to 365), every error at its field, and Overview publishes it."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from campaigns.actions import lifecycle
from campaigns.actions.drafts import do_create_draft
from campaigns.models import Campaign
from segments.models import Site

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def campaign(make_user):
    return do_create_draft(
        name="Opt-in",
        channel=Campaign.Channel.PERMISSION_REQUEST,
        kind=Campaign.Kind.SINGLE_ACTION,
        owner=make_user(),
    )


@pytest.fixture
def site():
    return Site.objects.create(name="Shop", allowed_origins=["https://shop.example.com"])


def what(**fields):
    data = {
        "message_type": "single",
        "variants": ["0"],
        "template": "categories",
        "title": "Stay in the loop, {{ profile.first_name | default: 'friend' }}",
        "body": "Deals and news, when they happen.",
        "subscribe_text": "Subscribe",
        "later_text": "Maybe later",
        "later_days": "14",
        "category1_name": "deals",
        "category1_label": "Deals",
        "category2_name": "news",
        "category2_label": "News",
        **fields,
    }
    return {name if name in ("message_type", "variants") else f"v0-{name}": value for name, value in data.items()}


def error_at(response, field):
    return response.content.decode().split(f'id="id_v0-{field}_error">', 1)[1].split("</p>", 1)[0]


def test_start_offers_it_as_a_live_campaign(marketer):
    page = marketer.get(reverse("campaigns:new"), follow=True).content.decode()
    assert 'value="permission_request"' in page
    start = reverse("campaigns:new") + "?start=abcdefgh1"
    made = marketer.post(start, {"name": "Opt-in", "channel": "permission_request", "kind": "one_time"})
    assert made.status_code == 303
    campaign = Campaign.objects.get()
    assert (campaign.channel, campaign.kind) == (Campaign.Channel.PERMISSION_REQUEST, Campaign.Kind.SINGLE_ACTION)


def test_who_asks_who_and_where_without_reach_limits(marketer, campaign, site):
    page = marketer.get(reverse("campaigns:who", args=[campaign.pk])).content.decode()
    assert "has not been asked for push yet" in page
    assert 'name="reach_mode"' not in page and 'name="daily_limit"' not in page
    refused = marketer.post(reverse("campaigns:who", args=[campaign.pk]), {"audience": "everyone"})
    assert refused.status_code == 422 and "Choose the website" in refused.content.decode()
    response = marketer.post(reverse("campaigns:who", args=[campaign.pk]), {"audience": "everyone", "sites": [site.pk]})
    assert response.status_code == 303, response.content.decode()[:2000]
    campaign.refresh_from_db()
    assert campaign.segment is None and "who" in campaign.steps_done
    assert list(campaign.sites.all()) == [site]


def test_when_asks_only_its_window(marketer, campaign):
    page = marketer.get(reverse("campaigns:when", args=[campaign.pk])).content.decode()
    assert 'name="ends_at"' in page
    assert 'name="trigger_event"' not in page and 'name="dnd_enabled"' not in page


def test_what_saves_the_template_with_its_categories_and_days(marketer, campaign):
    response = marketer.post(reverse("campaigns:what", args=[campaign.pk]), what())
    assert response.status_code == 303, response.content.decode()[:3000]
    content = campaign.variants.get().content
    assert content["template"] == "categories"
    assert content["categories"] == [{"name": "deals", "label": "Deals"}, {"name": "news", "label": "News"}]
    assert content["later_days"] == 14
    assert (content["subscribe_text"], content["later_text"]) == ("Subscribe", "Maybe later")
    page = marketer.get(reverse("campaigns:what", args=[campaign.pk])).content.decode()
    assert 'name="v0-category2_name"' in page and 'value="news"' in page and 'value="14"' in page


def test_a_simple_template_keeps_no_categories(marketer, campaign):
    marketer.post(reverse("campaigns:what", args=[campaign.pk]), what(template="simple"))
    assert "categories" not in campaign.variants.get().content


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"later_days": "0"}, "later_days", "greater than or equal to 1"),
        ({"later_days": "366"}, "later_days", "less than or equal to 365"),
        ({"later_days": ""}, "later_days", "required"),
        ({"category1_name": "", "category1_label": "", "category2_name": ""}, "category2_name", "Give the category"),
        (
            {"category1_name": "", "category1_label": "", "category2_name": "", "category2_label": ""},
            "category1_name",
            "at least one",
        ),
        ({"category2_name": "deals"}, "category2_name", "already in the list"),
        ({"subscribe_text": ""}, "subscribe_text", "required"),
        ({"image": "http://cdn.example/a.png"}, "image", "https"),
        ({"title": "{% if %}"}, "title", "Liquid"),
    ],
)
def test_what_refuses_bad_input_at_the_field(marketer, campaign, fields, field, message):
    response = marketer.post(reverse("campaigns:what", args=[campaign.pk]), what(**fields))
    assert response.status_code == 422
    assert message in error_at(response, field)
    assert not campaign.variants.filter(content__has_key="title").exists()


def test_it_is_one_message(marketer, campaign):
    response = marketer.post(reverse("campaigns:what", args=[campaign.pk]), what(message_type="ab"))
    assert response.status_code == 422
    assert "one message" in response.content.decode()


def test_overview_publishes_it_once_who_when_what_and_setup_are_done(marketer, campaign, site):
    marketer.post(reverse("campaigns:who", args=[campaign.pk]), {"audience": "everyone", "sites": [site.pk]})
    marketer.post(reverse("campaigns:what", args=[campaign.pk]), what())
    campaign.refresh_from_db()
    campaign.steps_done = [*campaign.steps_done, "when", "setup"]
    campaign.save()
    assert lifecycle.check_ready(campaign, now=NOW) == []
    overview = reverse("campaigns:overview", args=[campaign.pk])
    page = marketer.get(overview).content.decode()
    assert "has not been asked for push yet" in page and "Publish campaign" in page
    assert marketer.post(overview).status_code == 303
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING


def test_setup_asks_no_conversion_goal_its_goal_is_the_subscription(marketer, campaign):
    setup = reverse("campaigns:setup", args=[campaign.pk])
    page = marketer.get(setup).content.decode()
    assert 'id="goal-is-subscription"' in page and "Subscribed" in page
    assert 'name="goal_event"' not in page and 'name="goal_after"' not in page
    posted = {"control_group_percent": "0", "goal_event": "Charged", "goal_window_value": "2", "revenue_property": "x"}
    assert marketer.post(setup, posted).status_code == 303
    campaign.refresh_from_db()
    assert (campaign.goal_event, campaign.goal_window_minutes, campaign.revenue_property) == ("", None, "")
    overview = marketer.get(reverse("campaigns:overview", args=[campaign.pk])).content.decode()
    assert "the subscription: Subscribed and the subscribe rate" in overview


def test_a_push_campaigns_setup_still_asks_its_conversion_goal(marketer, make_user):
    kind, owner = Campaign.Kind.ONE_TIME, make_user()
    push = do_create_draft(name="Sale", channel=Campaign.Channel.WEB_PUSH, kind=kind, owner=owner)
    page = marketer.get(reverse("campaigns:setup", args=[push.pk])).content.decode()
    assert 'name="goal_event"' in page and 'id="goal-is-subscription"' not in page
