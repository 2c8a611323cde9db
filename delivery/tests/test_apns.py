"""The APNs provider against a local HTTP/2 + TLS service that checks the provider token.

The provider token lives in Django's cache (the database table here, as in the embedded
mode), which the provider reads from a thread: so these tests use ``transactional_db``.
"""

import asyncio
import logging
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import time_machine
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache

from delivery.providers.apns import APNsProvider
from delivery.providers.apns.token import cache_key
from delivery.providers.apns.transport import PRODUCTION_HOST, SANDBOX_HOST, collapse_id_for, default_ssl_context
from delivery.providers.base import Outcome, Push
from tests.pushservices.apns import APNsService, make_signing_key

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def device_token(n):
    return f"{n:064x}"


@pytest.fixture(autouse=True)
def empty_cache(transactional_db):
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def service():
    with APNsService(team_id="TEAM123456", topic="com.clarion.app") as running:
        yield running


@pytest.fixture
def key(service):
    return service.new_key()  # (.p8 PEM, key id)


def make_provider(service, key, **options):
    signing_key, key_id = key
    options = {"read_timeout": 5, "ssl_context": service.ssl_context(), **options}
    return APNsProvider(
        signing_key, key_id, service.team_id, service.topic, host=service.host, port=service.port, **options
    )


@pytest.fixture
def provider(service, key):
    return make_provider(service, key)


def push_to(n, payload=None, **fields):
    return Push(
        device_id=n, payload=payload or {"title": "Hello", "body": "A message"}, token=device_token(n), **fields
    )


def send(provider, *pushes):
    return provider.send_many_sync(list(pushes))


def tokens_seen(service):
    return [r.jwt for received in service.received.values() for r in received]


def test_a_push_arrives_with_its_headers_and_payload(service, provider):
    payload = {"title": "Zoë, your cart is waiting", "body": "Still thinking about the 🧦?", "url": "/cart"}

    [result] = send(provider, push_to(7, payload, ttl=3600, collapse_key="run-12:device-7"))

    assert (result.device_id, result.outcome, result.status, result.code) == (7, Outcome.SENT, 200, "")
    [received] = service.received[device_token(7)]
    assert received.payload == {
        "aps": {"alert": {"title": "Zoë, your cart is waiting", "body": "Still thinking about the 🧦?"}},
        "url": "/cart",
    }
    headers = received.headers
    assert headers["apns-topic"] == "com.clarion.app"
    assert headers["apns-push-type"] == "alert"
    assert headers["apns-priority"] == "10"
    assert headers["apns-collapse-id"] == "run-12:device-7"
    assert abs(int(headers["apns-expiration"]) - (time.time() + 3600)) < 5
    assert headers["host"] == service.host
    assert received.claims["iss"] == "TEAM123456"
    assert jwt.get_unverified_header(received.jwt)["kid"] == provider.tokens.key_id


def test_a_push_without_an_alert_is_a_background_push_with_priority_5(service, provider):
    send(provider, push_to(1, {"refresh": "inbox"}, urgency="high"))

    [received] = service.received[device_token(1)]
    assert received.payload == {"aps": {"content-available": 1}, "refresh": "inbox"}
    assert (received.headers["apns-push-type"], received.headers["apns-priority"]) == ("background", "5")


def test_a_low_urgency_alert_has_priority_5(service, provider):
    send(provider, push_to(1, urgency="low"))

    assert service.received[device_token(1)][0].headers["apns-priority"] == "5"


def test_a_long_collapse_key_becomes_64_bytes_the_same_on_every_resend(service, provider):
    key = "run-12:" + "ü" * 60

    send(provider, push_to(1, collapse_key=key))
    send(provider, push_to(1, collapse_key=key))

    first, resent = (r.headers["apns-collapse-id"] for r in service.received[device_token(1)])
    assert first == resent == collapse_id_for(key)
    assert len(first.encode()) == 64


def test_the_collapse_id_falls_back_to_the_message_id(service, provider):
    send(provider, push_to(1, message_id=981))

    assert service.received[device_token(1)][0].headers["apns-collapse-id"] == "981"


def test_production_and_sandbox_hosts(key):
    assert APNsProvider(key[0], key[1], "T", "app").host == PRODUCTION_HOST == "api.push.apple.com"
    assert APNsProvider(key[0], key[1], "T", "app", sandbox=True).host == SANDBOX_HOST == "api.sandbox.push.apple.com"


def test_results_come_back_in_order_for_many_devices(service, provider):
    results = send(provider, *(push_to(n, {"title": f"n{n}"}) for n in range(1, 61)))

    assert [r.device_id for r in results] == list(range(1, 61))
    assert all(r.outcome == Outcome.SENT for r in results)
    assert service.payloads(device_token(60)) == [{"aps": {"alert": {"title": "n60"}}}]


def test_one_provider_token_is_issued_and_shared_by_sends_and_workers(service, key):
    worker_a, worker_b = make_provider(service, key), make_provider(service, key)

    send(worker_a, push_to(1), push_to(2))
    send(worker_a, push_to(3))
    send(worker_b, push_to(4), push_to(5))
    send(worker_b, push_to(6))

    assert len(tokens_seen(service)) == 6
    assert len(set(tokens_seen(service))) == 1
    assert worker_a.tokens.issued + worker_b.tokens.issued == 1
    assert cache.get(cache_key(key[1]))["token"] == tokens_seen(service)[0]


def test_workers_that_each_signed_their_own_token_would_be_refused(service, key):
    # What the shared cache prevents: Apple refuses a new token for a key within 20 minutes.
    worker_a = make_provider(service, key, cache=LocMemCache("worker-a", {}))
    worker_b = make_provider(service, key, cache=LocMemCache("worker-b", {}))

    with time_machine.travel(START, tick=True):
        [first] = send(worker_a, push_to(1))
    with time_machine.travel(START + timedelta(minutes=5), tick=True):
        [second] = send(worker_b, push_to(2))

    assert first.outcome == Outcome.SENT
    assert (second.status, second.code, second.outcome) == (429, "apns_auth_error", Outcome.RETRY)
    assert service.rejected == [(device_token(2), 429, "TooManyProviderTokenUpdates")]


def test_each_signing_key_has_its_own_token(service, key):
    other_key = service.new_key()

    send(make_provider(service, key), push_to(1))
    send(make_provider(service, other_key), push_to(2))

    first, second = service.received[device_token(1)][0].jwt, service.received[device_token(2)][0].jwt
    assert jwt.get_unverified_header(first)["kid"] == key[1]
    assert jwt.get_unverified_header(second)["kid"] == other_key[1]


def test_the_token_is_reissued_after_50_minutes_once_for_all_workers(service, key):
    worker_a, worker_b = make_provider(service, key), make_provider(service, key)

    with time_machine.travel(START, tick=True):
        send(worker_a, push_to(1))
        send(worker_b, push_to(2))
    with time_machine.travel(START + timedelta(minutes=49), tick=True):
        send(worker_a, push_to(3))
        send(worker_b, push_to(4))
    with time_machine.travel(START + timedelta(minutes=51), tick=True):
        send(worker_b, push_to(5))
        send(worker_a, push_to(6))

    seen = [service.received[device_token(n)][0].jwt for n in range(1, 7)]
    assert len(set(seen[:4])) == 1
    assert seen[4] == seen[5] != seen[0]
    assert (
        jwt.decode(seen[4], options={"verify_signature": False})["iat"] >= (START + timedelta(minutes=51)).timestamp()
    )
    assert worker_a.tokens.issued + worker_b.tokens.issued == 2
    assert service.rejected == []


def test_an_expired_provider_token_is_replaced_and_the_push_sent_again(service, provider):
    with time_machine.travel(START, tick=True):
        send(provider, push_to(1))
    with time_machine.travel(START + timedelta(minutes=30), tick=True):
        service.answer(device_token(2), "ExpiredProviderToken")
        [result] = send(provider, push_to(2))
        shared = cache.get(cache_key(provider.tokens.key_id))["token"]  # the entry lives for an hour

    assert (result.outcome, result.status) == (Outcome.SENT, 200)
    first, replaced = service.received[device_token(1)][0].jwt, service.received[device_token(2)][0].jwt
    assert replaced != first
    assert shared == replaced
    assert provider.tokens.issued == 2


def test_a_refusal_seen_by_two_workers_issues_one_new_token(service, key):
    worker_a, worker_b = make_provider(service, key), make_provider(service, key)
    with time_machine.travel(START, tick=True):
        send(worker_a, push_to(1))
        send(worker_b, push_to(2))
    with time_machine.travel(START + timedelta(minutes=25), tick=True):
        service.answer(device_token(3), "ExpiredProviderToken")
        service.answer(device_token(4), "ExpiredProviderToken")
        results = send(worker_a, push_to(3)) + send(worker_b, push_to(4))

    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.SENT]
    assert service.received[device_token(3)][0].jwt == service.received[device_token(4)][0].jwt
    assert worker_a.tokens.issued + worker_b.tokens.issued == 2


def test_a_refusal_arriving_after_the_replacement_issues_no_other_token(service, provider):
    with time_machine.travel(START, tick=True):
        send(provider, push_to(1))
    with time_machine.travel(START + timedelta(minutes=25), tick=True):
        service.answer(device_token(2), "ExpiredProviderToken")
        service.answer(device_token(3), "ExpiredProviderToken")
        service.slow(device_token(3), 0.5)  # refused after device 2's refusal replaced the token
        results = send(provider, push_to(2), push_to(3))

    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.SENT]
    assert service.received[device_token(2)][0].jwt == service.received[device_token(3)][0].jwt
    assert provider.tokens.issued == 2


def test_the_push_is_retried_only_once_after_a_token_refusal(service, provider):
    service.answer(device_token(1), "ExpiredProviderToken", "ExpiredProviderToken")

    [result] = send(provider, push_to(1))

    assert (result.outcome, result.code, result.status) == (Outcome.FAILED, "apns_auth_error", 403)
    assert service.requests == 2


def test_the_service_refuses_a_badly_signed_token_and_the_provider_replaces_it(service, provider, key):
    forged = jwt.encode(
        {"iss": service.team_id, "iat": int(time.time())},
        make_signing_key(),
        algorithm="ES256",
        headers={"kid": key[1]},
    )
    cache.set(cache_key(key[1]), {"token": forged, "issued_at": int(time.time())})

    [result] = send(provider, push_to(1))

    assert service.rejected == [(device_token(1), 403, "InvalidProviderToken")]
    assert result.outcome == Outcome.SENT
    assert service.received[device_token(1)][0].jwt != forged


def test_a_key_apple_does_not_know_is_apns_auth_error(service, key):
    stranger = make_provider(service, (make_signing_key(), key[1]))

    [result] = send(stranger, push_to(1))

    assert (result.outcome, result.code, result.status) == (Outcome.FAILED, "apns_auth_error", 403)
    assert [reason for _, _, reason in service.rejected] == ["InvalidProviderToken", "InvalidProviderToken"]
    assert service.received == {}


def test_a_worker_waits_for_the_token_another_is_issuing(service, provider, key):
    # Another worker holds the lock and shares its token a moment later.
    cache.add(cache_key(key[1]) + ":lock", "another-worker", timeout=10)
    holder = make_provider(service, key).tokens
    threading.Timer(0.2, holder._sign_and_share).start()

    [result] = send(provider, push_to(1))

    assert result.outcome == Outcome.SENT
    assert provider.tokens.issued == 0
    assert service.received[device_token(1)][0].jwt == cache.get(cache_key(key[1]))["token"]


def test_a_lock_nobody_releases_is_an_auth_error_retry(service, provider, key, monkeypatch):
    monkeypatch.setattr("delivery.providers.apns.token.WAIT_FOR_OTHERS", 0.3)
    cache.add(cache_key(key[1]) + ":lock", "a-dead-worker", timeout=10)

    [result] = send(provider, push_to(1))

    assert (result.outcome, result.code, result.status) == (Outcome.RETRY, "apns_auth_error", None)
    assert service.requests == 0


@pytest.mark.parametrize(
    ("reason", "status", "code", "outcome", "retire"),
    [
        ("Unregistered", 410, "apns_token_format", Outcome.FAILED, True),
        ("BadDeviceToken", 400, "apns_token_format", Outcome.FAILED, True),
        ("PayloadEmpty", 400, "apns_empty_payload", Outcome.FAILED, False),
        ("MissingProviderToken", 403, "apns_auth_error", Outcome.FAILED, False),
        ("TooManyProviderTokenUpdates", 429, "apns_auth_error", Outcome.RETRY, False),
        ("TopicDisallowed", 400, "apns_temp_blacklist", Outcome.FAILED, False),
        ("TooManyRequests", 429, "apns_toomany_same_token", Outcome.RETRY, False),
        ("InternalServerError", 500, "apns_unknown", Outcome.RETRY, False),
        ("ServiceUnavailable", 503, "apns_unknown", Outcome.RETRY, False),
        ("BadTopic", 400, "apns_unknown", Outcome.FAILED, False),
        ("PayloadTooLarge", 413, "apns_unknown", Outcome.FAILED, False),
    ],
)
def test_each_reason_maps_to_its_code(service, provider, reason, status, code, outcome, retire):
    service.answer(device_token(1), reason)

    [result] = send(provider, push_to(1))

    assert (result.status, result.code, result.outcome, result.retire_device) == (status, code, outcome, retire)
    assert service.requests == 1


def test_a_server_error_then_success(service, provider):
    service.answer(device_token(1), "ServiceUnavailable")

    [first] = send(provider, push_to(1, {"title": "again"}))
    [second] = send(provider, push_to(1, {"title": "again"}))

    assert (first.outcome, first.code) == (Outcome.RETRY, "apns_unknown")
    assert (second.outcome, second.status) == (Outcome.SENT, 200)
    assert service.payloads(device_token(1)) == [{"aps": {"alert": {"title": "again"}}}]


def test_a_slow_service_is_an_apns_unknown_retry_and_others_still_go_through(service, key):
    service.slow(device_token(1), 2)
    provider = make_provider(service, key, read_timeout=0.5)

    slow, quick = send(provider, push_to(1), push_to(2))

    assert (slow.outcome, slow.code, slow.status) == (Outcome.RETRY, "apns_unknown", None)
    assert (quick.outcome, quick.status) == (Outcome.SENT, 200)


def test_a_late_answer_after_a_timeout_leaves_the_connection_usable(service, key):
    service.slow(device_token(1), 0.5)
    provider = make_provider(service, key, read_timeout=0.2)

    async def timeout_then_send_again():
        try:
            [late] = await provider.send_many([push_to(1)])
            await asyncio.sleep(0.6)  # the answer to the abandoned push arrives meanwhile
            [next_one] = await provider.send_many([push_to(2)])
        finally:
            await provider.aclose()
        return late, next_one

    late, next_one = asyncio.run(timeout_then_send_again())

    assert (late.outcome, next_one.outcome) == (Outcome.RETRY, Outcome.SENT)
    assert service.connections == 1


def test_a_refused_connection_is_an_apns_unknown_retry(service, key):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    provider = make_provider(service, key)
    provider.port = port

    [result] = send(provider, push_to(1))

    assert (result.outcome, result.code) == (Outcome.RETRY, "apns_unknown")


def test_a_service_whose_certificate_is_not_trusted_gets_nothing(service, key):
    provider = make_provider(service, key, ssl_context=None)  # the system's trust store

    [result] = send(provider, push_to(1))

    assert (result.outcome, result.code) == (Outcome.RETRY, "apns_unknown")
    assert service.requests == 0


def test_the_default_context_offers_http2_and_trusts_a_given_ca(service, key):
    # The service hangs up on a client that does not negotiate "h2" by ALPN, as APNs does.
    provider = make_provider(service, key, ssl_context=default_ssl_context(cafile=service.cafile))

    [result] = send(provider, push_to(1))

    assert (result.outcome, result.status) == (Outcome.SENT, 200)


def test_a_token_that_is_not_hex_fails_without_a_request(service, provider):
    [result] = send(provider, Push(device_id=1, payload={"title": "x"}, token="not-a-token"))

    assert (result.outcome, result.code, result.retire_device) == (Outcome.FAILED, "apns_token_format", True)
    assert service.requests == 0


def test_an_empty_payload_fails_without_a_request(service, provider):
    [result] = send(provider, Push(device_id=1, payload={}, token=device_token(1)))

    assert (result.outcome, result.code) == (Outcome.FAILED, "apns_empty_payload")
    assert service.requests == 0


def test_it_logs_no_key_or_token(service, provider, key, caplog):
    caplog.set_level(logging.DEBUG)
    service.answer(device_token(1), "Unregistered")
    service.answer(device_token(2), "ExpiredProviderToken")

    with time_machine.travel(START, tick=True):
        send(provider, push_to(3))
    # Apple refuses a new token within 20 minutes of the last (TooManyProviderTokenUpdates).
    with time_machine.travel(START + timedelta(minutes=25), tick=True):
        send(provider, push_to(1), push_to(2))

    assert "apns_token_format" in caplog.text
    key_body = "".join(key[0].splitlines()[1:-1])
    secrets = [key_body, *tokens_seen(service), *(t.split(".")[2] for t in tokens_seen(service))]
    assert len(secrets) == 5
    for secret in secrets:
        assert secret not in caplog.text
    assert key_body[:40] not in repr(provider.tokens) + repr(provider)
