"""The campaign page says why its messages wait and when they go, each reason in a sentence
with its times, and when a running A/B test picks its winner; the stats' Errors tab points
to it. The holds are made by the real pipeline (to the local Web Push service), the clock is
set with time_machine and the dashboard shows UTC."""

import re
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from campaigns.models import Campaign, CampaignRun, Variant
from campaigns.tests.live import EventsApi, live_campaign, person
from delivery.actions import sending
from delivery.actions.dispatches import do_create_dispatch, do_enqueue
from delivery.models import DeliverySettings
from delivery.tests.engine import started_dispatch, vapid_key, web_audience
from tests.pushservices.webpush import WebPushService

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 5, 4, 10, 7, tzinfo=UTC)


@pytest.fixture
def service():
    with WebPushService() as running:
        yield running


@pytest.fixture
def key(db):
    return vapid_key()


@pytest.fixture
def campaign(db):
    campaign = Campaign.objects.create(name="Spring sale", channel="web_push", kind="one_time", status="running")
    Variant.objects.create(campaign=campaign, content={"title": "Sale starts"})
    return campaign


@pytest.fixture
def throttle():
    cache.clear()  # the throttle's interval counts live in the cache
    DeliverySettings.objects.update_or_create(pk=1, defaults={"throttle_per_15_min": 5})
    yield
    cache.clear()


def run_of(campaign, dispatch, **fields):
    return CampaignRun.objects.create(
        campaign=campaign, planned_at=T0, started_at=T0, status="running", dispatch=dispatch, **fields
    )


def waiting_section(client, campaign):
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    if 'id="waiting"' not in page:
        return []
    section = page.split('id="waiting"', 1)[1].split("</section>", 1)[0]
    return [
        " ".join(re.sub(r"<[^>]+>", " ", line).split())
        for line in re.findall(r"<(?:li|p)[^>]*>.*?</(?:li|p)>", section)
    ]


def test_throttled_messages_say_the_next_window_and_the_last_expected(marketer, campaign, service, key, throttle):
    audience = web_audience(service, 30)
    with time_machine.travel(T0, tick=False):
        dispatch = started_dispatch([d for d, _ in audience], {"title": "Sale"})
        sending.send_batch(dispatch.pk)  # 5 go; 25 wait, at 5 per 15 minutes: 10:15 … 11:15
        run_of(campaign, dispatch)
        lines = waiting_section(marketer, campaign)

    assert lines == [
        "25 wait for the throttle (5 per 15 minutes): the next window opens at 10:15, the last expected at 11:15.",
        "Times in UTC.",
    ]


def test_dnd_holds_say_when_the_hours_end_in_each_persons_time_zone(marketer, campaign, service, key):
    paris = web_audience(service, 2, timezone="Europe/Paris")
    tokyo = web_audience(service, 1, timezone="Asia/Tokyo")
    rules = {"timezone": "UTC", "dnd": {"start": "21:00", "end": "09:00", "action": "delay"}}
    now = datetime(2026, 5, 4, 22, 30, tzinfo=UTC)  # 00:30 in Paris, 07:30 in Tokyo
    with time_machine.travel(now, tick=False):
        dispatch = started_dispatch([d for d, _ in paris + tokyo], {"title": "Sale"}, rules=rules)
        sending.send_batch(dispatch.pk)
        run_of(campaign, dispatch)
        lines = waiting_section(marketer, campaign)

    assert lines[0] == (
        "3 wait for Do Not Disturb to end at 09:00 in their time zone"
        " (the first at 00:00 on 5 May, the last at 07:00 on 5 May)."
    )


def test_a_retry_says_when_and_that_the_push_service_asked_to_wait(marketer, campaign, service, key):
    [(device, subscriber)] = web_audience(service, 1)
    service.answer(subscriber, 429, retry_after=300)
    with time_machine.travel(T0, tick=False):
        dispatch = started_dispatch([device], {"title": "Sale"})
        sending.send_batch(dispatch.pk)
        run_of(campaign, dispatch)
        lines = waiting_section(marketer, campaign)

    assert lines[0] == "1 will be tried again after 10:12 (the push service asked to wait)."


def test_a_running_ab_test_says_when_the_winner_is_picked(marketer, campaign, service, key):
    audience = web_audience(service, 3)
    with time_machine.travel(T0, tick=False):
        dispatch = started_dispatch([audience[0][0]], {"title": "A"})
        rest = do_create_dispatch(channel="web_push", label="rest", contents={"A": {"title": "A"}})
        do_enqueue(rest, [(d.profile_id, d.pk, "") for d, _ in audience[1:]])
        run_of(campaign, dispatch, remainder=rest, ab_ends_at=T0 + timedelta(hours=4))
        lines = waiting_section(marketer, campaign)

    assert lines[0] == "The winner is picked at 14:07 (after 4 hours) and then sent to the 2 messages waiting for it."


def test_the_section_is_absent_when_nothing_waits_and_its_poll_answers_the_same(marketer, campaign, service, key):
    [(device, _)] = web_audience(service, 1)
    with time_machine.travel(T0, tick=False):
        dispatch = started_dispatch([device], {"title": "Sale"})
        sending.send_batch(dispatch.pk)
        run_of(campaign, dispatch)
        assert waiting_section(marketer, campaign) == []
        poll = marketer.get(reverse("campaigns:waiting", args=[campaign.pk]))
    assert poll.status_code == 200
    assert poll.content.decode().strip() == ""


def test_the_errors_tab_says_how_many_wait_and_links_to_why(marketer, campaign, service, key, throttle):
    audience = web_audience(service, 8)
    with time_machine.travel(T0, tick=False):
        dispatch = started_dispatch([d for d, _ in audience], {"title": "Sale"})
        sending.send_batch(dispatch.pk)
        run_of(campaign, dispatch)
        page = marketer.get(reverse("stats:campaign", args=[campaign.pk]) + "?tab=errors").content.decode()

    errors = page.split('id="errors"', 1)[1].split("</section>", 1)[0]
    assert "every message handled so far was sent" not in errors
    said = " ".join(re.sub(r"<[^>]+>", " ", errors.split('id="errors-waiting">', 1)[1].split("</p>", 1)[0]).split())
    assert said.startswith("3 messages are still waiting, not failed: why, and when they go")
    assert f'href="/campaigns/{campaign.pk}/#waiting"' in errors


def test_a_live_run_held_by_dnd_says_one_person_targeted_and_why_their_two_devices_wait(client, marketer):
    night = datetime(2026, 5, 4, 23, 30, tzinfo=UTC)
    with time_machine.travel(night, tick=False):
        dnd = {"dnd_enabled": True, "dnd_start": time(21), "dnd_end": time(9), "dnd_action": "delay"}
        campaign = live_campaign(timezone="UTC", **dnd)
        person("ann", devices=2, timezone="UTC")
        EventsApi(client).post([{"identity": "ann", "name": "Added To Cart"}])
        run = CampaignRun.objects.get(campaign=campaign)
        sending.send_batch(run.dispatch_id)  # what the queued send task does
        page = marketer.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
        lines = waiting_section(marketer, campaign)

    assert "Live: 1 person targeted, 0 held out." in page
    assert lines[0] == "2 wait for Do Not Disturb to end at 09:00 in their time zone (at 09:00 on 5 May)."
