"""Payloads per platform, and the encrypted size a web push will have."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delivery.payloads import MAX_PUSH_BYTES, Payloads, build_payload, encrypted_size
from delivery.providers.apns.transport import apns_payload, is_background
from delivery.providers.base import Push
from delivery.providers.fcm.transport import message_for
from delivery.providers.webpush.transport import encrypt
from tests.pushservices.webpush import WebPushService

CONTENT = {
    "title": "Zoë, your cart is waiting",
    "body": "Still thinking about the 🧦?",
    "url": "https://shop.example/cart",
    "icon": "https://shop.example/icon.png",
    "image": "https://shop.example/socks.png",
    "require_interaction": True,
    "buttons": [
        {"title": "Open", "url": "https://shop.example/cart"},
        {"title": "Later", "url": ""},
        {"title": "A third is one too many", "url": "https://shop.example/x"},
    ],
    "kv": {"campaign": "spring", "url": "a key-value may not replace the deep link"},
}


def test_a_web_payload_is_what_the_service_worker_reads():
    payload = build_payload("web", CONTENT, message_id=981, collapse_key="12-7")

    assert payload == {
        "title": "Zoë, your cart is waiting",
        "body": "Still thinking about the 🧦?",
        "icon": "https://shop.example/icon.png",
        "image": "https://shop.example/socks.png",
        "tag": "clarion-12-7",
        "requireInteraction": True,
        "actions": [
            {"action": "button-1", "title": "Open", "url": "https://shop.example/cart"},
            {"action": "button-2", "title": "Later"},
        ],
        "data": {"campaign": "spring", "url": "https://shop.example/cart", "message_id": 981},
    }


def test_a_web_payload_leaves_out_what_is_empty_and_the_icon_when_told():
    payload = build_payload("web", {"title": "Hi", "icon": "i.png", "no_icon": True}, message_id=1, collapse_key="")

    assert payload == {"title": "Hi", "data": {"message_id": 1}}


def test_the_same_collapse_key_gives_the_same_tag_on_a_resend():
    first = build_payload("web", CONTENT, message_id=5, collapse_key="3-9")
    again = build_payload("web", CONTENT, message_id=5, collapse_key="3-9")
    other = build_payload("web", CONTENT, message_id=6, collapse_key="3-10")

    assert first["tag"] == again["tag"] != other["tag"]


@pytest.mark.parametrize("body", ["", "x" * 100, "ü" * 1000, "🧦" * 900])
def test_encrypted_size_is_the_size_of_the_real_aes128gcm_body(body):
    payload = build_payload("web", {"title": "T", "body": body}, message_id=1, collapse_key="1-1")
    with WebPushService() as service:
        subscriber = service.subscribe()
    push = Push(
        device_id=1, payload=payload, endpoint=subscriber.endpoint, p256dh=subscriber.p256dh, auth=subscriber.auth
    )

    assert encrypted_size(payload) == len(encrypt(push))


def test_a_body_near_the_limit_is_measured_over_it():
    fits = build_payload("web", {"body": "x" * 3900}, message_id=1, collapse_key="1-1")
    too_big = build_payload("web", {"body": "x" * 4000}, message_id=1, collapse_key="1-1")

    assert encrypted_size(fits) <= MAX_PUSH_BYTES < encrypted_size(too_big)


def test_an_android_payload_becomes_an_fcm_message_with_notification_and_string_data():
    content = {**CONTENT, "subtitle": "Sub", "android_channel_id": "promos", "sound": "ding"}

    payload = build_payload("android", content, message_id=981, collapse_key="12-7")
    message = message_for(Push(device_id=7, payload=payload, token="tok", collapse_key="12-7"))

    assert message["notification"] == {
        "title": "Zoë, your cart is waiting",
        "body": "Still thinking about the 🧦?",
        "image": "https://shop.example/socks.png",
    }
    assert message["android"]["notification"] == {"channel_id": "promos", "sound": "ding", "tag": "clarion-12-7"}
    assert message["android"]["collapse_key"] == "12-7"
    assert message["data"]["url"] == "https://shop.example/cart"
    assert message["data"]["message_id"] == "981"
    assert message["data"]["subtitle"] == "Sub"
    assert all(isinstance(value, str) for value in message["data"].values())


def test_an_ios_payload_has_an_alert_and_custom_keys_beside_aps():
    content = {**CONTENT, "subtitle": "Sub", "badge": "3", "sound": "default", "category": "CART"}

    payload = build_payload("ios", content, message_id=981, collapse_key="12-7")

    assert apns_payload(payload) is payload  # sent as it is
    assert payload["aps"] == {
        "alert": {"title": "Zoë, your cart is waiting", "subtitle": "Sub", "body": "Still thinking about the 🧦?"},
        "badge": 3,
        "sound": "default",
        "category": "CART",
    }
    assert (payload["url"], payload["message_id"], payload["campaign"]) == ("https://shop.example/cart", 981, "spring")
    assert not is_background(payload)


def test_an_ios_payload_with_a_zero_badge_clears_it_and_nothing_to_show_is_a_background_push():
    assert build_payload("ios", {"badge": 0}, message_id=1, collapse_key="")["aps"] == {"badge": 0}
    silent = build_payload("ios", {"kv": {"sync": "1"}}, message_id=1, collapse_key="")
    assert silent["aps"] == {"content-available": 1}
    assert is_background(silent)


def test_an_unknown_platform_is_refused():
    with pytest.raises(ValueError, match="platform"):
        build_payload("kaios", CONTENT, message_id=1, collapse_key="")


TEXT = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["", "\x00collapse-key\x00", "\x00message-id\x00", '"\x00message-id\x00"', "\\u0000collapse-key\\u0000", "Zoë 🧦"]
)


@settings(max_examples=300, deadline=None)
@given(
    title=TEXT,
    body=TEXT,
    kv=st.dictionaries(TEXT, TEXT, max_size=3),
    buttons=st.lists(st.fixed_dictionaries({"title": TEXT, "url": TEXT}), max_size=3),
    message_ids=st.lists(st.integers(min_value=1, max_value=2**62), min_size=1, max_size=3),
    collapse_keys=st.lists(TEXT, min_size=1, max_size=3),
)
def test_a_batch_builds_the_same_payloads_and_bytes_as_one_message_at_a_time(
    title, body, kv, buttons, message_ids, collapse_keys
):
    content = {**CONTENT, "title": title, "body": body, "kv": kv, "buttons": buttons}
    payloads = Payloads()

    for message_id, collapse_key in zip(message_ids, collapse_keys * 3, strict=False):
        for platform in ("web", "android", "ios"):
            one = build_payload(platform, content, message_id=message_id, collapse_key=collapse_key)
            payload, data = payloads.build(platform, content, message_id=message_id, collapse_key=collapse_key)
            assert (payload, data) == (one, json.dumps(one, separators=(",", ":"), ensure_ascii=False).encode())
            assert json.dumps(payload) == json.dumps(one)  # the same keys in the same order
