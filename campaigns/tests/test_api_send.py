"""API-triggered campaigns: POST /api/v1/campaigns/<id>/send sends a running campaign's message
to the people a backend names, with its data in Liquid, through the live send path and its
rules; an Idempotency-Key makes a retry answer the same and send nothing more."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from campaigns import idempotency
from campaigns.actions import lifecycle
from campaigns.allocation import in_control_group
from campaigns.models import Campaign, CampaignRun, IdempotencyKey, LiveTrigger, Variant
from campaigns.tests.live import person
from delivery.actions.sending import send_batch
from delivery.models import Message
from delivery.tests.engine import vapid_key, web_audience
from segments.actions.keys import create_api_key
from segments.models import Device, Profile, Segment
from tests.pushservices.webpush import WebPushService

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def key():
    return create_api_key("backend", rate_per_minute=100_000)


@pytest.fixture
def send(client, key):
    """send(campaign, body, idempotency_key=None) -> the API's response."""

    def call(campaign, body, idempotency_key=None, *, api_key=None):
        headers = {"Authorization": f"Bearer {api_key or key[1]}"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        raw = body if isinstance(body, str | bytes) else json.dumps(body)
        pk = campaign.pk if isinstance(campaign, Campaign) else campaign
        return client.post(f"/api/v1/campaigns/{pk}/send", raw, content_type="application/json", headers=headers)

    return call


def api_campaign(*, publish=True, **fields):
    values = {
        "name": "Order confirmation",
        "channel": Campaign.Channel.WEB_PUSH,
        "kind": Campaign.Kind.API_TRIGGERED,
        "steps_done": ["who", "when", "what", "setup"],
    }
    campaign = Campaign.objects.create(**(values | fields))
    content = {
        "title": "Order {{ data.order_id }} is confirmed",
        "body": 'Thanks, {{ profile.first_name | default: "there" }}',
    }
    Variant.objects.create(campaign=campaign, position=0, name="A", content=content)
    return lifecycle.do_schedule(campaign, user=None) if publish else campaign


def statuses(response):
    return {item["identity"]: item["status"] for item in response.json()["results"]}


# Sending.


def test_it_sends_the_message_with_the_requests_data_in_liquid(send):
    with WebPushService() as service:
        vapid_key()
        (device, subscriber), *_ = web_audience(service, 1, name="Ada Lovelace")
        Profile.objects.filter(pk=device.profile_id).update(identity="ada")
        campaign = api_campaign()

        response = send(campaign, {"to": ["ada"], "data": {"order_id": "A-1001"}})

        assert response.status_code == 200, response.content
        [result] = response.json()["results"]
        assert result["status"] == "queued"
        assert result["message_ids"] == list(Message.objects.values_list("pk", flat=True))
        send_batch(Message.objects.get().dispatch_id)
        [payload] = service.payloads(subscriber)
    assert payload["title"] == "Order A-1001 is confirmed"
    assert payload["body"] == "Thanks, Ada"


def test_it_answers_each_identity_queued_unknown_unreachable_or_held_out(send):
    Profile.objects.create(identity="no-device")
    campaign = api_campaign()
    held = next(f"h{i}" for i in range(200) if _held_out(campaign, person(f"h{i}")))
    # Who is held out depends on the row's id: "ada" is the first of two-device people who is not.
    ada = next(p for p in (person(f"a{i}", devices=2) for i in range(200)) if not _held_out(campaign, p))
    Profile.objects.filter(pk=ada.pk).update(identity="ada")

    response = send(campaign, {"to": ["ada", "ghost", "no-device", held, "ada"]})

    assert response.status_code == 200, response.content
    body = response.json()
    assert [item["identity"] for item in body["results"]] == ["ada", "ghost", "no-device", held]
    assert statuses(response) == {
        "ada": "queued",
        "ghost": "unknown_identity",
        "no-device": "not_reachable",
        held: "held_out",
    }
    assert body["queued"] == 1
    assert len(body["results"][0]["message_ids"]) == 2  # one per device
    assert Message.objects.count() == 2
    run = CampaignRun.objects.get(campaign=campaign)
    assert run.qualified == 3 and run.targeted == 1  # the known people of the request


def _held_out(campaign, profile):
    Campaign.objects.filter(pk=campaign.pk).update(control_group_percent=30)
    campaign.control_group_percent = 30
    return in_control_group(campaign, profile.pk)


def test_a_mobile_campaign_sends_to_the_apps_of_its_platforms(send):
    ada = Profile.objects.create(identity="ada")
    for platform in (Device.Platform.ANDROID, Device.Platform.IOS, Device.Platform.WEB):
        Device.objects.create(
            profile=ada,
            platform=platform,
            token=f"{platform}-token" if platform != Device.Platform.WEB else "",
            endpoint="https://push.example/ada" if platform == Device.Platform.WEB else "",
            push_status=Device.PushStatus.ALLOWED,
        )
    campaign = api_campaign(channel=Campaign.Channel.MOBILE_PUSH, platforms=["android"])

    response = send(campaign, {"to": ["ada"]})

    [result] = response.json()["results"]
    assert result["status"] == "queued"
    [message] = Message.objects.filter(pk__in=result["message_ids"])
    assert message.device.platform == Device.Platform.ANDROID


def test_only_the_segments_members_are_sent_to_when_the_campaign_has_one(send):
    person("ada", properties={"tier": "Gold"})
    person("bob", properties={"tier": "Silver"})
    rules = {"match": "all", "conditions": [{"kind": "property", "name": "tier", "op": "equals", "value": "Gold"}]}
    segment = Segment.objects.create(name="France", rules=rules, is_adhoc=True)
    campaign = api_campaign(segment=segment)

    response = send(campaign, {"to": ["ada", "bob"]})

    assert statuses(response) == {"ada": "queued", "bob": "skipped"}
    assert response.json()["results"][1]["reason"] == "Not in the campaign's segment."


def test_the_daily_limit_counts_api_sends_like_live_ones(send):
    for name in ("ada", "bob", "cy"):
        person(name)
    campaign = api_campaign(daily_limit=2)

    first = send(campaign, {"to": ["ada"]})
    second = send(campaign, {"to": ["bob", "cy"]})

    assert statuses(first) == {"ada": "queued"}
    assert statuses(second) == {"bob": "queued", "cy": "skipped"}
    assert second.json()["results"][1]["reason"] == "The campaign's daily limit was reached."
    assert LiveTrigger.objects.filter(campaign=campaign, status=LiveTrigger.Status.SENT).count() == 2


def test_the_total_cap_completes_the_campaign_and_later_requests_are_refused(send):
    person("ada")
    person("bob")
    campaign = api_campaign(target_cap=1)

    assert statuses(send(campaign, {"to": ["ada", "bob"]})) == {"ada": "queued", "bob": "skipped"}
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert send(campaign, {"to": ["bob"]}).status_code == 409


def test_the_cut_off_and_dnd_go_into_the_dispatch_rules(send):
    person("ada")
    campaign = api_campaign(
        cutoff_time=datetime(2026, 1, 1, 20, 0).time(),
        dnd_enabled=True,
        dnd_start=datetime(2026, 1, 1, 21, 0).time(),
        dnd_end=datetime(2026, 1, 1, 8, 0).time(),
        timezone="Europe/Paris",
    )

    send(campaign, {"to": ["ada"]})

    rules = Message.objects.get().dispatch.rules
    assert rules["cutoff"] == "2026-06-01T18:00:00+00:00"  # 20:00 in Paris on the request's day
    assert rules["dnd"] == {"start": "21:00", "end": "08:00", "action": "delay"}


@pytest.mark.parametrize("state", ["draft", "paused", "stopped"])
def test_a_campaign_that_is_not_running_sends_nothing_and_says_why(send, state):
    person("ada")
    campaign = api_campaign(publish=state != "draft")
    if state == "paused":
        lifecycle.do_pause(campaign, user=None)
    elif state == "stopped":
        lifecycle.do_stop(campaign, user=None)

    response = send(campaign, {"to": ["ada"]})

    assert response.status_code == 409
    assert "sends only while running" in response.json()["detail"]
    assert not Message.objects.exists()


def test_before_its_start_or_after_its_end_it_sends_nothing(send, clock):
    person("ada")
    campaign = api_campaign(starts_at=NOW + timedelta(hours=1), ends_at=NOW + timedelta(hours=2))

    assert send(campaign, {"to": ["ada"]}).status_code == 409
    clock.shift(timedelta(hours=1))
    assert send(campaign, {"to": ["ada"]}).status_code == 200
    clock.shift(timedelta(hours=1))
    assert send(campaign, {"to": ["ada"]}).status_code == 409


def test_another_kind_of_campaign_or_no_campaign_is_a_404(send):
    person("ada")
    live = api_campaign(kind=Campaign.Kind.SINGLE_ACTION, trigger_event="Bought")

    assert send(live, {"to": ["ada"]}).status_code == 404
    assert send(10**12, {"to": ["ada"]}).status_code == 404
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": []}, "to"),
        ({"to": ["x"] * 1001}, "to"),
        ({"to": ["x" * 256]}, "to"),
        ({"to": ["anon:abc"]}, "to"),
        ({"to": ["a"], "data": []}, "data"),
        ({"to": ["a"], "data": {"n": 10**400}}, "data"),
        ({"to": ["a"], "data": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}}, "data"),
        ({"to": ["a"], "data": {"big": "x" * 17_000}}, "data"),
        ({"to": ["a"], "extra": 1}, "extra"),
    ],
)
def test_a_body_out_of_bounds_is_a_400_naming_the_field(send, body, field):
    campaign = api_campaign()
    response = send(campaign, body)
    assert response.status_code == 400, response.content
    assert field in {error["field"] for error in response.json()["errors"]}


# Idempotency-Key.


def test_the_same_idempotency_key_twice_sends_once_and_replays_the_first_answer(send):
    person("ada")
    campaign = api_campaign()
    body = {"to": ["ada"], "data": {"order_id": "1"}}

    first = send(campaign, body, "order-1")
    again = send(campaign, body, "order-1")

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert "Idempotent-Replayed" not in first
    assert again["Idempotent-Replayed"] == "true"
    assert Message.objects.count() == 1
    assert CampaignRun.objects.filter(campaign=campaign).count() == 1


def test_the_same_body_with_other_spacing_is_the_same_request(send):
    person("ada")
    campaign = api_campaign()
    send(campaign, '{"to": ["ada"], "data": {"a": 1, "b": 2}}', "k")
    again = send(campaign, '{"data":{"b":2,"a":1},"to":["ada"]}', "k")
    assert again["Idempotent-Replayed"] == "true"
    assert Message.objects.count() == 1


def test_different_keys_send_twice(send):
    person("ada")
    campaign = api_campaign()

    send(campaign, {"to": ["ada"]}, "order-1")
    second = send(campaign, {"to": ["ada"]}, "order-2")

    assert "Idempotent-Replayed" not in second
    assert Message.objects.count() == 2


def test_the_same_key_with_another_body_is_a_422_and_sends_nothing(send):
    person("ada")
    person("bob")
    campaign = api_campaign()
    send(campaign, {"to": ["ada"]}, "order-1")

    response = send(campaign, {"to": ["bob"]}, "order-1")

    assert response.status_code == 422
    assert "another request" in response.json()["detail"]
    assert Message.objects.count() == 1


def test_keys_belong_to_their_api_key(send):
    person("ada")
    campaign = api_campaign()
    _, other = create_api_key("other backend", rate_per_minute=1000)

    send(campaign, {"to": ["ada"]}, "order-1")
    second = send(campaign, {"to": ["ada"]}, "order-1", api_key=other)

    assert "Idempotent-Replayed" not in second
    assert Message.objects.count() == 2


def test_a_refused_request_keeps_no_key_so_it_can_be_retried(send):
    person("ada")
    campaign = api_campaign()
    lifecycle.do_pause(campaign, user=None)
    assert send(campaign, {"to": ["ada"]}, "order-1").status_code == 409
    lifecycle.do_resume(campaign, user=None)

    response = send(campaign, {"to": ["ada"]}, "order-1")

    assert response.status_code == 200 and "Idempotent-Replayed" not in response
    assert Message.objects.count() == 1


@pytest.mark.parametrize("value", ["", " ", "x" * 256, "caf\u00e9", "a\tb"])
def test_an_idempotency_key_that_is_empty_too_long_or_not_printable_is_a_400(send, value):
    person("ada")
    campaign = api_campaign()
    response = send(campaign, {"to": ["ada"]}, value)
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not Message.objects.exists()


def test_keys_are_kept_30_days_then_forgotten(send, clock):
    person("ada")
    campaign = api_campaign()
    send(campaign, {"to": ["ada"]}, "order-1")

    clock.shift(timedelta(days=29))
    assert idempotency.do_forget_expired() == 0
    assert send(campaign, {"to": ["ada"]}, "order-1")["Idempotent-Replayed"] == "true"
    clock.shift(timedelta(days=2))
    assert idempotency.do_forget_expired() == 1
    assert not IdempotencyKey.objects.exists()


def test_an_expired_key_not_yet_forgotten_sends_again(send, clock):
    person("ada")
    campaign = api_campaign()
    campaign.ends_at = None
    send(campaign, {"to": ["ada"]}, "order-1")
    clock.shift(timedelta(days=31))

    response = send(campaign, {"to": ["ada"]}, "order-1")

    assert "Idempotent-Replayed" not in response
    assert Message.objects.count() == 2
