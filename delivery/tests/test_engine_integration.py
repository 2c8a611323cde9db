"""The engine end to end: a real Celery worker (its own process) sends dispatches through the
real providers to the local Web Push, FCM and APNs services, which check what the real ones
check (VAPID JWT and aes128gcm decryption, OAuth2 and FCM's error bodies, APNs over HTTP/2)."""

import json
import time

import pytest

from config.celery import app
from delivery.actions.dispatches import counts
from delivery.actions.test_sends import do_send_test
from delivery.models import DeliverySettings, Dispatch, Message
from delivery.providers.webpush.transport import topic_for
from delivery.tests.engine import app_audience, started_dispatch, vapid_key, web_audience
from segments.models import Device, Profile
from tests.processes import CeleryProcesses
from tests.pushservices.apns import APNsService
from tests.pushservices.fcm import FcmService
from tests.pushservices.webpush import WebPushService

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

READ_TIMEOUT = 2  # seconds, so a slow push service times out quickly in these tests


@pytest.fixture(scope="module")
def webpush():
    with WebPushService() as running:
        yield running


@pytest.fixture(scope="module")
def fcm():
    with FcmService() as running:
        yield running


@pytest.fixture(scope="module")
def apns():
    with APNsService() as running:
        yield running


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory, fcm, apns):
    """One worker for the module, with the real providers pointed at the local services, and
    this process's send tasks routed to its queue."""
    processes = CeleryProcesses(tmp_path_factory.mktemp("celery"))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PUSH_PROVIDERS", "live")
        env.setenv("FCM_ENDPOINT", fcm.origin)
        env.setenv("APNS_HOST", apns.host)
        env.setenv("APNS_PORT", str(apns.port))
        env.setenv("APNS_CAFILE", apns.cafile)
        env.setenv("PUSH_READ_TIMEOUT", str(READ_TIMEOUT))
        with django_db_blocker.unblock():
            processes.start("worker")
    default_queue = app.conf.task_default_queue
    app.conf.task_default_queue = processes.queue
    yield processes
    app.conf.task_default_queue = default_queue
    processes.stop()


@pytest.fixture
def credentials(fcm, apns):
    settings = DeliverySettings.load()
    settings.fcm_service_account = json.dumps(fcm.add_service_account())
    settings.apns_private_key, settings.apns_key_id = apns.new_key()
    settings.apns_team_id, settings.apns_topic = apns.team_id, apns.topic
    settings.save()
    return settings


@pytest.fixture
def key(db):
    return vapid_key()


def wait_until_done(worker, dispatch, timeout=90):
    worker.wait_for(
        lambda: Dispatch.objects.get(pk=dispatch.pk).status == Dispatch.Status.DONE,
        timeout,
        f"dispatch {dispatch.pk} to finish: {counts(dispatch)}",
    )


def message(dispatch, device):
    return Message.objects.get(dispatch=dispatch, device=device)


def outcome(dispatch, device):
    row = message(dispatch, device)
    return row.status, row.code, row.attempts


def test_every_subscriber_decrypts_its_own_personalised_text(worker, webpush, key):
    audience = []
    for city in ("Lyon", "Porto", "Zürich"):
        audience += web_audience(webpush, 10, name="Zoë Example", properties={"city": city})
    content = {"title": "{{ profile.first_name }}, news from {{ profile.city }}", "url": "https://shop.example/"}

    dispatch = started_dispatch([d for d, _ in audience], content)
    wait_until_done(worker, dispatch)

    assert counts(dispatch)["sent"] == 30
    for device, subscriber in audience:
        [received] = webpush.received[subscriber.id]
        city = Profile.objects.get(pk=device.profile_id).properties["city"]
        assert received.payload["title"] == f"Zoë, news from {city}"
        assert received.payload["data"] == {"url": "https://shop.example/", "message_id": message(dispatch, device).pk}
        assert received.claims["aud"] == webpush.origin
        assert received.headers["Topic"] == topic_for(f"{dispatch.pk}-{device.pk}")


def test_web_push_answers_become_the_seeds_codes_and_gone_subscriptions_retire_the_device(worker, webpush, key):
    statuses = {400: "bad_params", 401: "bad_auth", 403: "token_invalid", 404: "end_point_invalid"}
    statuses |= {410: "browser_unsubscribed", 413: "payload_too_large"}
    audience = web_audience(webpush, len(statuses) + 1)
    for (_, subscriber), status in zip(audience, statuses, strict=False):
        webpush.answer(subscriber, status)

    dispatch = started_dispatch([d for d, _ in audience], {"title": "Hello"})
    wait_until_done(worker, dispatch)

    for (device, _), (status, code) in zip(audience, statuses.items(), strict=False):
        assert outcome(dispatch, device) == ("failed", code, 1), status
        device.refresh_from_db()
        assert (device.retired_at is not None) == (status in (404, 410)), status
    assert outcome(dispatch, audience[-1][0]) == ("sent", "", 1)


def test_429_and_503_with_retry_after_are_sent_again_after_that_wait(worker, webpush, key):
    [(limited, limited_sub), (busy, busy_sub)] = web_audience(webpush, 2)
    webpush.answer(limited_sub, 429, retry_after=1)
    webpush.answer(busy_sub, 503, 503, retry_after=1)

    started = time.monotonic()
    dispatch = started_dispatch([limited, busy], {"title": "Hello"})
    wait_until_done(worker, dispatch, timeout=60)

    assert outcome(dispatch, limited) == ("sent", "", 2)
    assert outcome(dispatch, busy) == ("sent", "", 3)
    assert len(webpush.payloads(limited_sub)) == len(webpush.payloads(busy_sub)) == 1
    assert time.monotonic() - started >= 2  # two waits of a second, not a hot loop


def test_each_retry_of_a_batch_arrives_within_5_s_of_its_own_retry_after(worker, webpush, key):
    # One batch, two waits: each gets its wake-up (a batch used to wake only for its earliest
    # hold, and the other row waited for the sweep).
    [(limited, limited_sub)] = web_audience(webpush, 1)
    [(firefox, firefox_sub)] = web_audience(webpush, 1, browser="firefox")
    webpush.answer(limited_sub, 429, retry_after=30)
    webpush.answer(firefox_sub, 429, retry_after=20)

    dispatch = started_dispatch([limited, firefox], {"title": "Hello"})
    wait_until_done(worker, dispatch, timeout=60)

    for device, subscriber, retry_after in ((limited, limited_sub, 30), (firefox, firefox_sub, 20)):
        [(_, answered_at)] = webpush.answered[subscriber.id]
        [received] = webpush.received[subscriber.id]
        print(f"{device.browser}: Retry-After {retry_after} s, sent again after {received.at - answered_at:.1f} s")
        assert retry_after <= received.at - answered_at <= retry_after + 5, device.browser
        assert outcome(dispatch, device) == ("sent", "", 2)


def test_a_5xx_without_retry_after_is_held_with_its_code_then_sent(worker, webpush, key):
    [(device, subscriber)] = web_audience(webpush, 1)
    webpush.answer(subscriber, 500)

    dispatch = started_dispatch([device], {"title": "Hello"})
    worker.wait_for(
        lambda: outcome(dispatch, device) == ("held", "server_issue", 1), 30, "the 500 to be held for a retry"
    )
    wait_until_done(worker, dispatch, timeout=60)

    assert outcome(dispatch, device) == ("sent", "", 2)


def test_firefox_gives_up_after_three_tries(worker, webpush, key):
    [(device, subscriber)] = web_audience(webpush, 1, browser="firefox")
    webpush.answer(subscriber, 503, 503, 503, 503, retry_after=1)

    dispatch = started_dispatch([device], {"title": "Hello"})
    wait_until_done(worker, dispatch, timeout=60)

    assert outcome(dispatch, device) == ("failed", "server_issue", 3)
    assert webpush.payloads(subscriber) == []


def test_a_timeout_is_tried_again_with_the_same_topic(worker, webpush, key):
    [(device, subscriber)] = web_audience(webpush, 1)
    webpush.slow(subscriber, READ_TIMEOUT + 1)

    dispatch = started_dispatch([device], {"title": "Hello"})
    worker.wait_for(
        lambda: outcome(dispatch, device) == ("held", "dispatch_failed", 1), 30, "the timeout to be held for a retry"
    )
    webpush.slow(subscriber, 0)
    wait_until_done(worker, dispatch, timeout=60)

    assert outcome(dispatch, device) == ("sent", "", 2)
    # The push that timed out may still have arrived late: whatever arrived carries one Topic.
    topics = {received.headers["Topic"] for received in webpush.received[subscriber.id]}
    assert topics == {topic_for(f"{dispatch.pk}-{device.pk}")}


def test_fcm_errors_become_the_seeds_codes(worker, fcm, credentials):
    finals = {
        "INVALID_ARGUMENT": "fcm_invalid_argument",
        "SENDER_ID_MISMATCH": "gcm_msi",
        "THIRD_PARTY_AUTH_ERROR": "gcm_others",
    }
    tokens = [fcm.register() for _ in range(len(finals) + 4)]
    for token, error_code in zip(tokens, finals, strict=False):
        fcm.fail(token, error_code)
    unregistered, quota, unavailable, fine = tokens[len(finals) :]
    fcm.unregister(unregistered)
    fcm.fail(quota, "QUOTA_EXCEEDED", retry_after=1)
    fcm.fail(unavailable, "UNAVAILABLE", retry_after=1)
    devices = app_audience(Device.Platform.ANDROID, tokens)
    content = {"title": "Hi {{ profile.first_name }}", "body": "Your order shipped", "url": "app://orders"}

    dispatch = started_dispatch(devices, content, channel="mobile_push")
    wait_until_done(worker, dispatch, timeout=60)

    by_token = {device.token: device for device in devices}
    for token, code in zip(tokens, finals.values(), strict=False):
        assert outcome(dispatch, by_token[token]) == ("failed", code, 1)
    assert outcome(dispatch, by_token[unregistered]) == ("failed", "push_unreg", 1)
    assert Device.objects.get(pk=by_token[unregistered].pk).retired_at is not None
    assert outcome(dispatch, by_token[quota]) == ("sent", "", 2)
    assert outcome(dispatch, by_token[unavailable]) == ("sent", "", 2)
    [sent] = fcm.messages(fine)
    assert sent["notification"] == {"title": "Hi Ana", "body": "Your order shipped"}
    assert sent["android"]["collapse_key"] == f"{dispatch.pk}-{by_token[fine].pk}"
    assert sent["data"]["message_id"] == str(message(dispatch, by_token[fine]).pk)


def test_apns_errors_become_the_seeds_codes(worker, apns, credentials):
    reasons = {
        "BadDeviceToken": "apns_token_format",
        "Unregistered": "apns_token_format",
        "TopicDisallowed": "apns_temp_blacklist",
        "PayloadEmpty": "apns_empty_payload",
    }
    tokens = [f"{n:064x}" for n in range(1, len(reasons) + 3)]
    for token, reason in zip(tokens, reasons, strict=False):
        apns.answer(token, reason)
    busy, fine = tokens[len(reasons) :]
    apns.answer(busy, "TooManyRequests")
    devices = app_audience(Device.Platform.IOS, tokens)
    by_token = {device.token: device for device in devices}

    dispatch = started_dispatch(devices, {"title": "Hi {{ profile.first_name }}", "badge": 1}, channel="mobile_push")
    worker.wait_for(
        lambda: outcome(dispatch, by_token[busy]) == ("held", "apns_toomany_same_token", 1),
        30,
        "TooManyRequests to be held for a retry",
    )
    wait_until_done(worker, dispatch, timeout=60)

    for token, (reason, code) in zip(tokens, reasons.items(), strict=False):
        assert outcome(dispatch, by_token[token]) == ("failed", code, 1), reason
        retired = Device.objects.get(pk=by_token[token].pk).retired_at is not None
        assert retired == (reason in ("BadDeviceToken", "Unregistered")), reason
    assert outcome(dispatch, by_token[busy]) == ("sent", "", 2)
    [received] = apns.received[fine]
    assert received.payload["aps"] == {"alert": {"title": "Hi Ana"}, "badge": 1}
    assert received.headers["apns-collapse-id"] == f"{dispatch.pk}-{by_token[fine].pk}"


def test_a_test_send_reaches_every_device_of_the_test_profiles_at_once(worker, webpush, key):
    audience = web_audience(webpush, 3)
    tester = Profile.objects.get(pk=audience[0][0].profile_id)
    tester.is_test = True
    tester.save()
    second_browser = audience[1][0]
    second_browser.profile_id = tester.pk
    second_browser.save()
    DeliverySettings.objects.update_or_create(pk=1, defaults={"daily_cap": 0, "throttle_per_15_min": 1})

    dispatch = do_send_test(
        channel="web_push", content={"title": "Test: {{ profile.first_name }}"}, profiles=[tester], label="Test"
    )
    wait_until_done(worker, dispatch)

    assert dispatch.is_test
    assert counts(dispatch)["sent"] == 2
    assert [len(webpush.payloads(s)) for _, s in audience] == [1, 1, 0]
    assert webpush.payloads(audience[0][1])[0]["title"] == "Test: Zoë"
