"""The Web Push provider against a local push service that verifies VAPID and decrypts."""

import email.utils
import logging
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from delivery.actions.sending import answers_in_groups
from delivery.providers.base import Outcome, Push
from delivery.providers.webpush import WebPushProvider, transport
from delivery.providers.webpush.transport import encrypt as transport_encrypt
from delivery.providers.webpush.transport import topic_for
from delivery.providers.webpush.vapid import origin_of
from tests.pushservices.webpush import WebPushService, make_vapid_key

SUBJECT = "mailto:push@clarion.test"


@pytest.fixture
def service():
    with WebPushService() as running:
        yield running


@pytest.fixture
def other_service():
    with WebPushService() as running:
        yield running


@pytest.fixture
def vapid_key():
    return make_vapid_key()


@pytest.fixture
def provider(vapid_key):
    return WebPushProvider(vapid_key[0], SUBJECT, read_timeout=5)


def push_to(subscriber, payload=None, device_id=1, **fields):
    return Push(
        device_id=device_id,
        payload=payload or {"title": "Hello", "body": "A message"},
        endpoint=subscriber.endpoint,
        p256dh=subscriber.p256dh,
        auth=subscriber.auth,
        browser="chrome",
        **fields,
    )


def send(provider, *pushes):
    return provider.send_many_sync(list(pushes))


def plant_header(provider, origin, authorization):
    """Make the provider send this Authorization value to ``origin`` from now on."""
    provider.vapid._headers[origin] = (authorization, int(time.time()) + provider.vapid.lifetime)


def test_the_subscriber_decrypts_the_personalised_text(service, provider):
    subscriber = service.subscribe()
    payload = {"title": "Zoë, your cart is waiting", "body": "Still thinking about the 🧦?", "url": "/cart"}

    [result] = send(provider, push_to(subscriber, payload, device_id=7))

    assert (result.device_id, result.outcome, result.status, result.code) == (7, Outcome.SENT, 201, "")
    assert service.payloads(subscriber) == [payload]


def test_results_come_back_in_order_for_many_subscribers(service, provider):
    subscribers = [service.subscribe() for _ in range(40)]
    pushes = [push_to(s, {"title": f"n{i}"}, device_id=i) for i, s in enumerate(subscribers)]

    results = send(provider, *pushes)

    assert [r.device_id for r in results] == list(range(40))
    assert all(r.outcome == Outcome.SENT for r in results)
    assert [service.payloads(s) for s in subscribers] == [[{"title": f"n{i}"}] for i in range(40)]


def test_it_sets_ttl_urgency_and_a_topic_from_the_collapse_key(service, provider):
    subscriber = service.subscribe()

    send(provider, push_to(subscriber, ttl=3600, urgency="high", collapse_key="run-12:device-7"))
    send(provider, push_to(subscriber, ttl=3600, urgency="high", collapse_key="run-12:device-7"))

    first, resent = service.received[subscriber.id]
    assert first.headers["TTL"] == "3600"
    assert first.headers["Urgency"] == "high"
    assert first.headers["Topic"] == topic_for("run-12:device-7")
    assert len(first.headers["Topic"]) == 32
    assert resent.headers["Topic"] == first.headers["Topic"]


def test_the_topic_falls_back_to_the_message_id(service, provider):
    subscriber = service.subscribe()

    send(provider, push_to(subscriber, message_id=981))

    assert service.received[subscriber.id][0].headers["Topic"] == topic_for(981)


def test_one_vapid_header_per_origin_is_reused_across_sends(service, other_service, provider):
    here = [service.subscribe() for _ in range(3)]
    there = other_service.subscribe()

    send(provider, *(push_to(s) for s in here), push_to(there))
    send(provider, push_to(here[0]), push_to(there))  # a second call, a second connection pool

    headers_here = {r.authorization for s in here for r in service.received[s.id]}
    headers_there = {r.authorization for r in other_service.received[there.id]}
    assert len(headers_here) == 1
    assert len(headers_there) == 1
    assert headers_here != headers_there
    assert service.received[here[0].id][0].claims["aud"] == service.origin
    assert other_service.received[there.id][0].claims["aud"] == other_service.origin


@pytest.mark.parametrize(
    ("endpoint", "origin"),
    [
        ("https://fcm.googleapis.com/fcm/send/abc:def", "https://fcm.googleapis.com"),
        ("https://Updates.Push.Services.Mozilla.com:443/wpush/v2/x", "https://updates.push.services.mozilla.com"),
        ("https://push.example:8443/p/1", "https://push.example:8443"),
        ("http://127.0.0.1:8080/push/s1", "http://127.0.0.1:8080"),
    ],
)
def test_the_audience_is_the_endpoints_origin(endpoint, origin):
    assert origin_of(endpoint) == origin


@pytest.mark.parametrize("endpoint", ["", "push.example/p/1", "ftp://push.example/p/1", "https://push.example:x/p"])
def test_an_endpoint_that_is_not_an_http_url_is_end_point_invalid(provider, endpoint):
    [result] = send(provider, Push(device_id=1, payload={"t": 1}, endpoint=endpoint, p256dh="x", auth="y"))

    assert (result.outcome, result.code) == (Outcome.FAILED, "end_point_invalid")


def test_the_vapid_token_names_us_and_expires_within_24_hours(service, provider, vapid_key):
    subscriber = service.subscribe()

    send(provider, push_to(subscriber))

    received = service.received[subscriber.id][0]
    assert received.claims["sub"] == SUBJECT
    assert time.time() < received.claims["exp"] <= time.time() + 24 * 3600
    assert received.authorization.endswith(f"k={vapid_key[1]}")


def test_a_header_close_to_expiry_is_replaced(service, provider):
    subscriber = service.subscribe()
    start = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

    with time_machine.travel(start, tick=True):
        send(provider, push_to(subscriber))
    with time_machine.travel(start + timedelta(hours=10), tick=True):
        send(provider, push_to(subscriber))
    with time_machine.travel(start + timedelta(hours=11, minutes=30), tick=True):
        send(provider, push_to(subscriber))

    first, later, renewed = (r.authorization for r in service.received[subscriber.id])
    assert later == first
    assert renewed != first


@pytest.mark.parametrize(
    ("status", "code", "outcome", "retire"),
    [
        (400, "bad_params", Outcome.FAILED, False),
        (401, "bad_auth", Outcome.FAILED, False),
        (403, "token_invalid", Outcome.FAILED, False),
        (404, "end_point_invalid", Outcome.FAILED, True),
        (410, "browser_unsubscribed", Outcome.FAILED, True),
        (413, "payload_too_large", Outcome.FAILED, False),
        (429, "dispatch_failed", Outcome.RETRY, False),
        (500, "server_issue", Outcome.RETRY, False),
        (503, "server_issue", Outcome.RETRY, False),
    ],
)
def test_each_status_maps_to_its_code(service, provider, status, code, outcome, retire):
    subscriber = service.subscribe()
    service.answer(subscriber, status)

    [result] = send(provider, push_to(subscriber))

    assert (result.status, result.code, result.outcome, result.retire_device) == (status, code, outcome, retire)


def test_429_surfaces_retry_after_in_seconds(service, provider):
    subscriber = service.subscribe()
    service.answer(subscriber, 429, retry_after=120)

    [result] = send(provider, push_to(subscriber))

    assert (result.outcome, result.retry_after) == (Outcome.RETRY, 120)


def test_429_surfaces_retry_after_given_as_a_date(service, provider):
    subscriber = service.subscribe()
    service.answer(subscriber, 429, retry_after=email.utils.formatdate(time.time() + 90, usegmt=True))

    [result] = send(provider, push_to(subscriber))

    assert 85 <= result.retry_after <= 90


def test_a_busy_service_may_say_when_to_come_back(service, provider):
    subscriber = service.subscribe()
    service.answer(subscriber, 503, retry_after=30)

    [result] = send(provider, push_to(subscriber))

    assert (result.outcome, result.code, result.retry_after) == (Outcome.RETRY, "server_issue", 30)


def test_a_final_failure_carries_no_retry_after(service, provider):
    subscriber = service.subscribe()
    service.answer(subscriber, 410, retry_after=30)

    [result] = send(provider, push_to(subscriber))

    assert result.retry_after is None


def test_a_server_error_then_success(service, provider):
    subscriber = service.subscribe()
    service.answer(subscriber, 500)

    [first] = send(provider, push_to(subscriber, {"title": "again"}))
    [second] = send(provider, push_to(subscriber, {"title": "again"}))

    assert (first.outcome, first.code) == (Outcome.RETRY, "server_issue")
    assert (second.outcome, second.status) == (Outcome.SENT, 201)
    assert service.payloads(subscriber) == [{"title": "again"}]


def test_a_slow_service_is_a_dispatch_failed_retry(service, vapid_key):
    subscriber = service.subscribe()
    service.slow(subscriber, 2)
    provider = WebPushProvider(vapid_key[0], SUBJECT, read_timeout=0.3)

    [result] = send(provider, push_to(subscriber))

    assert (result.outcome, result.code, result.status) == (Outcome.RETRY, "dispatch_failed", None)


def test_a_refused_connection_is_a_dispatch_failed_retry(provider, service):
    subscriber = service.subscribe()
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    closed = push_to(subscriber)
    closed = Push(**{**closed.__dict__, "endpoint": f"http://127.0.0.1:{port}/push/x"})

    [result] = send(provider, closed)

    assert (result.outcome, result.code) == (Outcome.RETRY, "dispatch_failed")


def test_a_too_large_payload_is_refused_before_sending(service, provider):
    subscriber = service.subscribe()

    [result] = send(provider, push_to(subscriber, {"body": "x" * 4000}))

    assert (result.outcome, result.code, result.status) == (Outcome.FAILED, "payload_too_large", None)
    assert service.requests == 0


def test_a_payload_just_under_the_limit_is_sent(service, provider):
    subscriber = service.subscribe()
    payload = {"body": "x" * 3980}

    [result] = send(provider, push_to(subscriber, payload))

    assert result.outcome == Outcome.SENT
    assert service.payloads(subscriber) == [payload]


def test_broken_subscription_keys_fail_without_a_request(service, provider):
    subscriber = service.subscribe()
    broken = Push(device_id=1, payload={"t": 1}, endpoint=subscriber.endpoint, p256dh="nonsense", auth="x")

    [result] = send(provider, broken)

    assert (result.outcome, result.code) == (Outcome.FAILED, "token_invalid")
    assert service.requests == 0


def test_the_service_rejects_a_forged_signature(service, provider):
    subscriber = service.subscribe()
    forger = make_vapid_key()
    genuine = provider.vapid.authorization(service.origin)
    # The token stays ours but claims to be signed by another key.
    plant_header(provider, service.origin, genuine.split("k=")[0] + f"k={forger[1]}")

    [result] = send(provider, push_to(subscriber))

    assert (result.status, result.code) == (401, "bad_auth")
    assert service.rejected == [(subscriber.id, 401, "bad signature")]
    assert service.received[subscriber.id] == []


def test_the_service_rejects_a_token_for_another_origin(service, other_service, provider):
    subscriber = service.subscribe()
    plant_header(provider, service.origin, provider.vapid.authorization(other_service.origin))

    [result] = send(provider, push_to(subscriber))

    assert result.code == "bad_auth"
    assert "aud" in service.rejected[0][2]


def test_the_service_rejects_a_token_valid_for_more_than_24_hours(service, provider):
    subscriber = service.subscribe()
    provider.vapid.lifetime = 25 * 3600

    [result] = send(provider, push_to(subscriber))

    assert result.code == "bad_auth"
    assert service.rejected[0][2] == "exp more than 24 h ahead"


def test_a_subscription_made_with_another_key_is_token_invalid(service, provider):
    subscriber = service.subscribe(application_server_key=make_vapid_key()[1])

    [result] = send(provider, push_to(subscriber))

    assert (result.status, result.code, result.outcome) == (403, "token_invalid", Outcome.FAILED)


def test_it_logs_no_key_secret_or_token(service, provider, vapid_key, caplog):
    gone, failing = service.subscribe(), service.subscribe()
    service.answer(gone, 410)
    service.answer(failing, 500)
    caplog.set_level(logging.DEBUG)

    send(provider, push_to(gone), push_to(failing), push_to(service.subscribe(), {"body": "x" * 5000}))

    token = provider.vapid.authorization(service.origin).split("t=")[1].split(",")[0]
    assert "browser_unsubscribed" in caplog.text
    for secret in (vapid_key[0], gone.auth, failing.auth, token, token.split(".")[2]):
        assert secret not in caplog.text


def stream(provider, pushes):
    """The pipeline's way: ``send_stream`` through ``answers_in_groups``, results in order."""
    answered = [pair for group in answers_in_groups(provider, list(enumerate(pushes))) for pair in group]
    return [result for _, result in sorted(answered, key=lambda pair: pair[0])]


def test_the_pipeline_encrypts_on_a_thread_beside_the_event_loop(service, provider, monkeypatch):
    subscribers = [service.subscribe() for _ in range(120)]
    threads = set()

    def encrypt(push):
        threads.add(threading.current_thread())
        return transport_encrypt(push)

    monkeypatch.setattr(transport, "encrypt", encrypt)
    results = stream(provider, [push_to(s, {"title": f"n{i}"}, device_id=i) for i, s in enumerate(subscribers)])

    assert [(r.device_id, r.outcome) for r in results] == [(i, Outcome.SENT) for i in range(120)]
    assert [service.payloads(s) for s in subscribers] == [[{"title": f"n{i}"}] for i in range(120)]
    assert threading.current_thread() not in threads  # the event loop runs on this one
    assert [thread.name.startswith("webpush-encrypt") for thread in threads] == [True]


def test_encryption_stays_a_few_chunks_ahead_of_the_sends(service, provider, monkeypatch):
    subscribers = [service.subscribe() for _ in range(3)]
    pushes = [push_to(subscribers[i % 3], device_id=i) for i in range(1000)]
    encrypted, lead = [], []
    send_one = provider.send_one

    def encrypt(push):
        encrypted.append(push)
        return transport_encrypt(push)

    async def counted(session, push, body=None):
        lead.append(len(encrypted) - len(lead))  # encrypted so far, minus those sent
        return await send_one(session, push, body)

    monkeypatch.setattr(transport, "encrypt", encrypt)
    monkeypatch.setattr(provider, "send_one", counted)
    results = stream(provider, pushes)

    assert all(r.outcome == Outcome.SENT for r in results) and len(results) == 1000
    assert max(lead) <= (transport.ENCRYPT_AHEAD + 1) * transport.ENCRYPT_CHUNK


def test_broken_keys_fail_alone_in_a_stream_without_a_request(service, provider):
    good = service.subscribe()
    broken = Push(device_id=99, payload={"t": 1}, endpoint=good.endpoint, p256dh="nonsense", auth="x")

    results = stream(provider, [push_to(good, device_id=1), broken, push_to(good, device_id=2)])

    assert [(r.device_id, r.outcome, r.code) for r in results] == [
        (1, Outcome.SENT, ""),
        (99, Outcome.FAILED, "token_invalid"),
        (2, Outcome.SENT, ""),
    ]
    assert service.requests == 2
