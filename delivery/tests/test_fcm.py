"""The FCM provider against a local FCM HTTP v1 service that verifies the OAuth2 assertion."""

import asyncio
import logging
import socket
from datetime import UTC, datetime, timedelta

import google.auth.exceptions
import google.auth.transport.requests
import pytest
import requests
import time_machine
from google.oauth2 import service_account

from delivery.providers.base import Outcome, Push
from delivery.providers.fcm import FcmProvider
from tests.pushservices.fcm import FcmService, forged_copy


@pytest.fixture
def service():
    with FcmService() as running:
        yield running


@pytest.fixture
def account(service):
    return service.add_service_account()


@pytest.fixture
def provider(service, account):
    return FcmProvider(account, endpoint=service.origin, read_timeout=5)


def push_to(token, payload=None, device_id=1, **fields):
    return Push(device_id=device_id, payload=payload or {"title": "Hello", "body": "A message"}, token=token, **fields)


def send(provider, *pushes):
    return provider.send_many_sync(list(pushes))


def closed_port():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        return unused.getsockname()[1]


def test_a_send_arrives_with_the_token_notification_and_android_options(service, provider):
    device = service.register()
    payload = {"title": "Zoë, your cart is waiting", "body": "Still thinking about the 🧦?", "channel_id": "promos"}
    payload["url"] = "/cart"

    [result] = send(provider, push_to(device, payload, device_id=7, ttl=3600, urgency="high", collapse_key="r12:d7"))

    assert (result.device_id, result.outcome, result.status, result.code) == (7, Outcome.SENT, 200, "")
    assert service.messages(device) == [
        {
            "token": device,
            "notification": {"title": "Zoë, your cart is waiting", "body": "Still thinking about the 🧦?"},
            "data": {"url": "/cart"},
            "android": {
                "priority": "HIGH",
                "ttl": "3600s",
                "collapse_key": "r12:d7",
                "notification": {"channel_id": "promos"},
            },
        }
    ]
    assert service.received[device][0].project_id == "clarion-test"


def test_a_normal_push_has_normal_priority_and_the_message_id_as_collapse_key(service, provider):
    device = service.register()

    send(provider, push_to(device, message_id=981))

    android = service.messages(device)[0]["android"]
    assert (android["priority"], android["ttl"], android["collapse_key"]) == ("NORMAL", "86400s", "981")


def test_data_values_arrive_as_strings(service, provider):
    device = service.register()

    [result] = send(provider, push_to(device, {"title": "t", "data": {"n": 3, "tags": ["a"]}, "deep_link": "app://x"}))

    assert result.outcome == Outcome.SENT
    assert service.messages(device)[0]["data"] == {"n": "3", "tags": '["a"]', "deep_link": "app://x"}


def test_results_come_back_in_order_for_many_devices(service, provider):
    devices = [service.register() for _ in range(40)]

    results = send(provider, *(push_to(d, {"title": f"n{i}"}, device_id=i) for i, d in enumerate(devices)))

    assert [r.device_id for r in results] == list(range(40))
    assert all(r.outcome == Outcome.SENT for r in results)
    assert [service.messages(d)[0]["notification"] for d in devices] == [{"title": f"n{i}"} for i in range(40)]


def test_the_access_token_is_fetched_once_and_shared_by_every_send(service, account, provider):
    devices = [service.register() for _ in range(5)]
    another_provider = FcmProvider(account, endpoint=service.origin)

    send(provider, *(push_to(d) for d in devices))
    send(provider, push_to(devices[0]))  # a second call, a second connection pool
    send(another_provider, push_to(devices[1]))

    assert service.tokens_issued == 1
    assert len({r.access_token for d in devices for r in service.received[d]}) == 1


def test_the_access_token_is_renewed_shortly_before_it_expires(service, provider):
    device = service.register()
    start = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

    with time_machine.travel(start, tick=True):
        send(provider, push_to(device))
    with time_machine.travel(start + timedelta(minutes=50), tick=True):
        send(provider, push_to(device))
    with time_machine.travel(start + timedelta(minutes=56), tick=True):  # 4 minutes left
        send(provider, push_to(device))

    first, later, renewed = (r.access_token for r in service.received[device])
    assert later == first
    assert renewed != first
    assert service.tokens_issued == 2


def test_a_401_refreshes_the_token_once_and_resends(service, provider):
    devices = [service.register() for _ in range(5)]
    send(provider, push_to(devices[0]))
    service.revoke_access_tokens()

    results = send(provider, *(push_to(d, device_id=i) for i, d in enumerate(devices)))

    assert [r.outcome for r in results] == [Outcome.SENT] * 5
    assert service.tokens_issued == 2  # one refresh however many sends saw the 401
    assert [len(service.messages(d)) for d in devices] == [2, 1, 1, 1, 1]


def test_a_token_refused_again_after_the_refresh_is_fcm_oauth2_token_expired():
    with FcmService(token_lifetime=0) as service:  # every token it issues is already expired
        account = service.add_service_account()
        device = service.register()

        [result] = send(FcmProvider(account, endpoint=service.origin), push_to(device))

    assert (result.status, result.code, result.outcome) == (401, "fcm_oauth2_token_expired", Outcome.FAILED)
    assert service.messages(device) == []


@pytest.mark.parametrize(
    ("error_code", "status", "code", "outcome", "retire"),
    [
        ("UNREGISTERED", 404, "push_unreg", Outcome.FAILED, True),
        ("INVALID_ARGUMENT", 400, "fcm_invalid_argument", Outcome.FAILED, False),
        ("SENDER_ID_MISMATCH", 403, "gcm_msi", Outcome.FAILED, False),
        ("QUOTA_EXCEEDED", 429, "fcm_sending_rate_exceeded", Outcome.RETRY, False),
        ("UNAVAILABLE", 503, "fcm_internal_server_error", Outcome.RETRY, False),
        ("INTERNAL", 500, "fcm_internal_server_error", Outcome.RETRY, False),
        ("THIRD_PARTY_AUTH_ERROR", 401, "gcm_others", Outcome.FAILED, False),
    ],
)
def test_each_fcm_error_maps_to_its_code(service, provider, error_code, status, code, outcome, retire):
    device = service.register()
    service.fail(device, error_code)

    [result] = send(provider, push_to(device))

    assert (result.status, result.code, result.outcome, result.retire_device) == (status, code, outcome, retire)
    assert service.tokens_issued == 1  # a third-party auth error is not cured by a new token
    assert service.requests == 1


def test_an_uninstalled_app_retires_the_device(service, provider):
    device = service.register()
    service.unregister(device)

    [result] = send(provider, push_to(device))

    assert (result.status, result.code, result.retire_device) == (404, "push_unreg", True)


def test_a_token_fcm_never_issued_is_fcm_invalid_argument(service, provider):
    [result] = send(provider, push_to("not-a-registration-token"))

    assert (result.status, result.code, result.outcome, result.retire_device) == (
        400,
        "fcm_invalid_argument",
        Outcome.FAILED,
        False,
    )


def test_a_push_without_a_token_fails_without_a_request(service, provider):
    [result] = send(provider, push_to(""))

    assert (result.outcome, result.code, result.status) == (Outcome.FAILED, "fcm_invalid_argument", None)
    assert service.requests == 0


def test_429_surfaces_retry_after(service, provider):
    device = service.register()
    service.fail(device, "QUOTA_EXCEEDED", retry_after=120)

    [result] = send(provider, push_to(device))

    assert (result.outcome, result.code, result.retry_after) == (Outcome.RETRY, "fcm_sending_rate_exceeded", 120)


def test_429_without_retry_after_waits_at_least_a_minute(service, provider):
    device = service.register()
    service.fail(device, "QUOTA_EXCEEDED")

    [result] = send(provider, push_to(device))

    assert result.retry_after == 60


def test_a_final_failure_carries_no_retry_after(service, provider):
    device = service.register()
    service.fail(device, "UNREGISTERED", retry_after=30)

    [result] = send(provider, push_to(device))

    assert result.retry_after is None


def test_unavailable_then_success(service, provider):
    device = service.register()
    service.fail(device, "UNAVAILABLE", retry_after=30)

    [first] = send(provider, push_to(device, {"title": "again"}))
    [second] = send(provider, push_to(device, {"title": "again"}))

    assert (first.outcome, first.code, first.retry_after) == (Outcome.RETRY, "fcm_internal_server_error", 30)
    assert (second.outcome, second.status) == (Outcome.SENT, 200)
    assert [m["notification"] for m in service.messages(device)] == [{"title": "again"}]


def test_a_slow_service_is_a_dispatch_failed_retry(service, account):
    device = service.register()
    service.slow(device, 2)
    provider = FcmProvider(account, endpoint=service.origin, read_timeout=0.3)

    [result] = send(provider, push_to(device))

    assert (result.outcome, result.code, result.status) == (Outcome.RETRY, "dispatch_failed", None)


def test_an_unreachable_fcm_is_a_dispatch_failed_retry(service, account):
    provider = FcmProvider(account, endpoint=f"http://127.0.0.1:{closed_port()}")

    [result] = send(provider, push_to(service.register()))

    assert (result.outcome, result.code) == (Outcome.RETRY, "dispatch_failed")


def test_an_unreachable_token_endpoint_is_a_dispatch_failed_retry(service, account):
    provider = FcmProvider(account, endpoint=service.origin, token_uri=f"http://127.0.0.1:{closed_port()}/token")

    [result] = send(provider, push_to(service.register()))

    assert (result.outcome, result.code, result.status) == (Outcome.RETRY, "dispatch_failed", None)
    assert service.requests == 0


def test_the_token_uri_can_be_set_apart_from_the_key(service, account):
    elsewhere = {**account, "token_uri": f"http://127.0.0.1:{closed_port()}/token"}
    device = service.register()

    [result] = send(FcmProvider(elsewhere, endpoint=service.origin, token_uri=service.token_uri), push_to(device))

    assert result.outcome == Outcome.SENT


def test_the_service_rejects_a_badly_signed_assertion(service, account):
    device = service.register()
    forged = forged_copy(account)

    [result] = send(FcmProvider(forged, endpoint=service.origin), push_to(device))

    assert (result.outcome, result.code) == (Outcome.FAILED, "fcm_oauth2_token_expired")
    assert service.rejected == [("token", 400, "Invalid JWT Signature.")]
    assert (service.tokens_issued, service.requests) == (0, 0)


def test_the_service_refuses_an_assertion_without_the_messaging_scope(service, account):
    scope = "https://www.googleapis.com/auth/cloud-platform"
    credentials = service_account.Credentials.from_service_account_info(account, scopes=[scope])

    with pytest.raises(google.auth.exceptions.RefreshError):
        credentials.refresh(google.auth.transport.requests.Request())

    assert service.rejected == [("token", 400, "Invalid JWT: scope")]


def test_it_logs_no_private_key_or_access_token(service, account, provider, caplog):
    gone, failing, fine = service.register(), service.register(), service.register()
    service.unregister(gone)
    service.fail(failing, "INTERNAL")
    caplog.set_level(logging.DEBUG)
    send(provider, push_to(fine))
    service.revoke_access_tokens()

    send(provider, push_to(gone), push_to(failing), push_to(fine))

    access_tokens = {r.access_token for r in service.received[fine]}
    assert len(access_tokens) == 2
    assert "push_unreg" in caplog.text
    assert "refreshing the access token" in caplog.text
    key_body = "".join(account["private_key"].splitlines()[1:-1])
    for secret in (*access_tokens, key_body[:40], key_body[-40:], account["private_key_id"]):
        assert secret not in caplog.text
    assert account["private_key"][40:80] not in repr(provider) + repr(provider.tokens)


@pytest.mark.parametrize(
    "message",
    [
        {"data": {"n": 3}},
        {"android": {"ttl": "3600"}},
        {"android": {"priority": "high"}},
        {"notification": {"title": "t", "channel_id": "promos"}},
        {"topic": "news"},
        {"urgency": "high"},
    ],
)
def test_the_service_refuses_a_message_fcm_would_refuse(service, provider, message):
    device = service.register()
    access_token = asyncio.run(provider.tokens.token())

    response = requests.post(
        provider.url,
        json={"message": {"token": device, **message}},
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=5,
    )

    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["errorCode"] == "INVALID_ARGUMENT"
    assert service.messages(device) == []
