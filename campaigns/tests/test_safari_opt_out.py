""" "All browsers but Safari" (``browsers: "not_safari"`` in a web push variant's content):
a run and a live campaign leave Safari devices out of their messages; with Safari included
(the default) Safari devices get them."""

from datetime import UTC, datetime

import pytest
import time_machine

from accounts import roles
from campaigns.actions import runs
from campaigns.live.sending import NO_DEVICE
from campaigns.models import CampaignRun
from campaigns.tests.live import EventsApi, live_campaign, outcome, person
from campaigns.tests.scheduled import audience, make_campaign
from delivery.models import Message
from segments.models import Device

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
NOT_SAFARI = {"title": "Spring sale", "body": "New colours", "image": "https://shop.example/a.png"}
NOT_SAFARI["browsers"] = "not_safari"
ALL = {"title": "Spring sale", "body": "New colours", "url": "https://shop.example/sale", "browsers": "all"}

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def owner(make_user):
    return make_user(roles.MARKETER, email="owner@example.com")


def browsers(profile, *names):
    for name in names:
        Device.objects.filter(profile=profile).update(browser=name)


def started(campaign):
    campaign.status = "scheduled"
    campaign.save()
    run = CampaignRun.objects.create(campaign=campaign, planned_at=NOW)
    return runs.do_start_run(run.pk)


def sent_browsers(dispatch):
    return sorted(Message.objects.filter(dispatch=dispatch).values_list("device__browser", flat=True))


@pytest.fixture
def shoppers():
    """One Chrome-only person, one Safari-only, and one with both."""
    chrome, safari, both = audience(3)
    browsers(chrome, "chrome")
    browsers(safari, "safari")
    browsers(both, "chrome")
    endpoint = "https://push.example/both/safari"
    Device.objects.create(profile=both, platform="web", browser="safari", endpoint=endpoint, push_status="allowed")
    return chrome, safari, both


def test_a_run_for_all_browsers_but_safari_writes_no_message_for_a_safari_device(owner, shoppers):
    chrome, _, both = shoppers
    campaign = make_campaign(owner, variants=[{"content": NOT_SAFARI}, {"content": NOT_SAFARI}], message_type="ab")

    run = started(campaign)

    assert (run.qualified, run.targeted) == (2, 2)  # the Safari-only person does not qualify
    assert sent_browsers(run.dispatch) == ["chrome", "chrome"]
    assert set(Message.objects.filter(dispatch=run.dispatch).values_list("profile_id", flat=True)) == {
        chrome.pk,
        both.pk,
    }


def test_a_run_for_all_browsers_sends_to_safari_devices_too(owner, shoppers):
    campaign = make_campaign(owner, variants=[{"content": ALL}])

    run = started(campaign)

    assert (run.qualified, run.targeted) == (3, 3)
    assert sent_browsers(run.dispatch) == ["chrome", "chrome", "safari", "safari"]


@pytest.mark.parametrize(("content", "expected"), [(NOT_SAFARI, ["chrome"]), (ALL, ["chrome", "safari"])])
def test_a_live_send_leaves_safari_out_only_when_the_message_says_so(client, content, expected):
    campaign = live_campaign(variants=[{"content": content}])
    ada = person("ada", devices=2)
    Device.objects.filter(pk=ada.devices.order_by("pk").last().pk).update(browser="safari")
    Device.objects.filter(pk=ada.devices.order_by("pk").first().pk).update(browser="chrome")

    EventsApi(client).track("ada", "Added To Cart")

    run = CampaignRun.objects.get(campaign=campaign)
    assert sent_browsers(run.dispatch) == expected


def test_a_live_trigger_of_a_safari_only_person_is_skipped_for_want_of_a_device(client):
    campaign = live_campaign(variants=[{"content": NOT_SAFARI}])
    bea = person("bea")
    Device.objects.filter(profile=bea).update(browser="safari")

    EventsApi(client).track("bea", "Added To Cart")

    assert outcome(campaign, "bea") == [("skipped", NO_DEVICE)]
    assert not Message.objects.filter(dispatch__run__campaign=campaign).exists()
