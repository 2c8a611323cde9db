"""Target devices (seed 002: native apps, web, all): which of a person's devices a push
campaign reaches, decided by ``campaigns.targeting`` for every path — a scheduled run, a live
trigger, an API send, a test send, the forecast and the reach estimate — with one message per
reachable device."""

from collections import Counter
from datetime import UTC, datetime

import pytest
import time_machine

from accounts import roles
from campaigns import targeting
from campaigns.actions import forecast, runs
from campaigns.actions.test_sends import do_send_test
from campaigns.live.sending import NO_DEVICE
from campaigns.models import Campaign, CampaignRun
from campaigns.tests.live import EventsApi, live_campaign, outcome
from campaigns.tests.scheduled import make_campaign
from campaigns.tests.test_api_send import api_campaign, statuses
from delivery.models import Message
from segments.actions.keys import create_api_key
from segments.actions.reach import estimate_reach
from segments.models import Device, Profile
from segments.rules import tree as rule_tree

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
WEB, APPS, ALL = "web", "apps", "all"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def owner(make_user):
    return make_user(roles.MARKETER, email="owner@example.com")


def person(identity, *platforms, blocked=(), **fields):
    """A profile with one allowed device per platform named (web, android, ios) and one
    blocked device per platform in ``blocked`` (never reached)."""
    profile = Profile.objects.create(identity=identity, **fields)
    for n, platform in enumerate([*platforms, *blocked]):
        address = {"endpoint": f"https://push.example/{identity}/{n}"} if platform == "web" else {}
        address |= {"token": f"{platform}-{identity}-{n}"} if platform != "web" else {}
        status = "blocked" if n >= len(platforms) else "allowed"
        Device.objects.create(profile=profile, platform=platform, push_status=status, browser="", **address)
    return profile


@pytest.fixture
def people():
    """Someone with a browser only, someone with an Android app only, and someone with a
    browser, an Android phone and an iPhone (and a blocked browser, never counted)."""
    return {
        "web": person("web-only", "web"),
        "app": person("app-only", "android"),
        "both": person("both", "web", "android", "ios", blocked=("web",)),
    }


def started(campaign):
    campaign.status = Campaign.Status.SCHEDULED
    campaign.save()
    return runs.do_start_run(CampaignRun.objects.create(campaign=campaign, planned_at=NOW).pk)


def messages(dispatch):
    """(identity, platform) of each message of ``dispatch``, sorted."""
    rows = Message.objects.filter(dispatch=dispatch).values_list("profile__identity", "device__platform")
    return sorted(rows)


# A scheduled run.


def test_by_default_a_web_push_run_reaches_web_devices_and_a_mobile_one_app_devices(owner, people):
    web = started(make_campaign(owner))
    mobile = started(make_campaign(owner, channel=Campaign.Channel.MOBILE_PUSH))

    assert messages(web.dispatch) == [("both", "web"), ("web-only", "web")]
    assert messages(mobile.dispatch) == [("app-only", "android"), ("both", "android"), ("both", "ios")]
    assert (web.qualified, mobile.qualified) == (2, 2)


def test_web_reaches_only_the_web_devices_of_people_who_have_both(owner, people):
    run = started(make_campaign(owner, channel=Campaign.Channel.MOBILE_PUSH, target_devices=WEB))

    assert messages(run.dispatch) == [("both", "web"), ("web-only", "web")]
    assert (run.qualified, run.targeted) == (2, 2)


def test_native_apps_reach_only_app_devices_even_from_a_web_push_campaign(owner, people):
    run = started(make_campaign(owner, target_devices=APPS))

    assert messages(run.dispatch) == [("app-only", "android"), ("both", "android"), ("both", "ios")]


def test_native_apps_are_narrowed_to_the_chosen_platforms(owner, people):
    run = started(make_campaign(owner, target_devices=ALL, platforms=["ios"]))

    assert messages(run.dispatch) == [("both", "ios"), ("both", "web"), ("web-only", "web")]


def test_all_writes_one_message_per_reachable_device_of_every_kind(owner, people):
    run = started(make_campaign(owner, target_devices=ALL))

    assert messages(run.dispatch) == [
        ("app-only", "android"),
        ("both", "android"),
        ("both", "ios"),
        ("both", "web"),
        ("web-only", "web"),
    ]
    assert (run.qualified, run.targeted) == (3, 3)  # people; the messages are per device


def test_all_leaves_safari_out_of_the_web_devices_only(owner, people):
    Device.objects.filter(profile=people["both"], platform="web").update(browser="safari")
    content = {"title": "Sale", "body": "Now", "browsers": "not_safari"}

    run = started(make_campaign(owner, target_devices=ALL, variants=[{"content": content}]))

    assert ("both", "web") not in messages(run.dispatch)
    assert ("both", "ios") in messages(run.dispatch) and ("web-only", "web") in messages(run.dispatch)


# The numbers before the run agree with it.


@pytest.mark.parametrize("target", [WEB, APPS, ALL])
def test_the_forecast_and_the_reach_estimate_per_platform_agree_with_the_runs_messages(owner, people, target):
    campaign = make_campaign(owner, target_devices=target)
    found = forecast.forecast(campaign, now=NOW)
    reach = estimate_reach(rule_tree.parse(campaign.segment.rules), now=NOW)
    estimated = {platform: count for platform, _, count in targeting.reach_rows(campaign, reach.reachable)}

    run = started(campaign)

    written = Message.objects.filter(dispatch=run.dispatch)
    assert found.devices == dict(Counter(written.values_list("device__platform", flat=True)))
    assert found.targeted == written.count()
    assert found.reachable == run.qualified
    people_per_platform = {
        platform: written.filter(device__platform=platform).values("profile").distinct().count()
        for platform in targeting.platforms(campaign)
    }
    assert estimated == people_per_platform


def test_the_forecasts_reachable_line_names_the_devices_per_platform_once(owner, people):
    found = forecast.forecast(make_campaign(owner, target_devices=ALL), now=NOW)

    reachable = next(row for row in forecast.rows(found) if row.name == "reachable")

    assert reachable.detail == "devices: android 2 · ios 1 · web 2"


# Live and API-triggered sends.


def test_a_live_trigger_sends_to_every_targeted_device_of_the_person(client, people):
    campaign = live_campaign(target_devices=ALL, platforms=["android", "ios"])

    EventsApi(client).track("both", "Added To Cart")

    run = CampaignRun.objects.get(campaign=campaign)
    assert messages(run.dispatch) == [("both", "android"), ("both", "ios"), ("both", "web")]


def test_a_live_trigger_for_native_apps_skips_a_person_with_only_a_browser(client, people):
    campaign = live_campaign(target_devices=APPS, platforms=["android"])
    api = EventsApi(client)

    api.track("web-only", "Added To Cart")
    api.track("both", "Added To Cart")

    assert outcome(campaign, "web-only") == [("skipped", NO_DEVICE)]
    sent = Message.objects.filter(dispatch__run__campaign=campaign)
    assert sorted(sent.values_list("profile__identity", "device__platform")) == [("both", "android")]


def test_an_api_send_queues_one_message_per_targeted_device(client, people):
    _, key = create_api_key("backend", rate_per_minute=100_000)
    campaign = api_campaign(target_devices=APPS, platforms=["android", "ios"])

    response = client.post(
        f"/api/v1/campaigns/{campaign.pk}/send",
        {"to": ["both", "web-only", "app-only"]},
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )

    assert response.status_code == 200, response.content
    assert statuses(response) == {"both": "queued", "web-only": "not_reachable", "app-only": "queued"}
    ids = {item["identity"]: item["message_ids"] for item in response.json()["results"]}
    platforms = dict(Message.objects.filter(pk__in=ids["both"]).values_list("pk", "device__platform"))
    assert sorted(platforms.values()) == ["android", "ios"]


# Test sends.


def test_a_test_send_goes_to_every_targeted_device_of_the_test_profiles(owner, people):
    Profile.objects.filter(pk=people["both"].pk).update(is_test=True)
    campaign = make_campaign(owner, target_devices=ALL)

    test = do_send_test(campaign, campaign.variants.get(), [Profile.objects.get(identity="both")], owner)

    assert messages(test.dispatch) == [("both", "android"), ("both", "ios"), ("both", "web")]


def test_a_test_send_for_web_leaves_the_apps_out(owner, people):
    Profile.objects.filter(pk=people["both"].pk).update(is_test=True)
    campaign = make_campaign(owner, channel=Campaign.Channel.MOBILE_PUSH, target_devices=WEB)

    test = do_send_test(campaign, campaign.variants.get(), [Profile.objects.get(identity="both")], owner)

    assert messages(test.dispatch) == [("both", "web")]


# The one decision.


@pytest.mark.parametrize(
    ("channel", "target", "apps", "expected"),
    [
        ("web_push", "", [], ("web",)),
        ("mobile_push", "", [], ("android", "ios")),
        ("mobile_push", "", ["ios"], ("ios",)),
        ("web_push", "apps", ["android"], ("android",)),
        ("mobile_push", "web", ["android", "ios"], ("web",)),
        ("web_push", "all", [], ("web", "android", "ios")),
        ("exit_intent", "all", [], ()),
    ],
)
def test_platforms_are_the_target_or_the_channels_own_kind(channel, target, apps, expected):
    campaign = Campaign(channel=channel, target_devices=target, platforms=apps)

    assert targeting.platforms(campaign) == expected
