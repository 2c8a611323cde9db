"""The web SDK's endpoints (/sdk/v1/), called as a customer's page would call them."""

import base64
import contextlib
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.urls import reverse

from delivery.models import VapidKey
from delivery.vapid import current_public_key
from segments.actions.sdk import identify_browser
from segments.models import Device, Event, Profile, Site

pytestmark = pytest.mark.django_db

ORIGIN = "https://shop.example.com"
CLIENT = "c0ffee00-1111-4222-8333-444455556666"
NOW = datetime(2026, 3, 2, 10, 0, 30, tzinfo=UTC)
# A real-looking subscription: a P-256 point (0x04 then 64 bytes) and a 16-byte secret.
P256DH = base64.urlsafe_b64encode(b"\x04" + bytes(range(64))).rstrip(b"=").decode()
AUTH = base64.urlsafe_b64encode(bytes(range(16))).rstrip(b"=").decode()
ENDPOINT = "https://fcm.googleapis.com/fcm/send/abc123"


@pytest.fixture
def site():
    return Site.objects.create(name="Shop", allowed_origins=[ORIGIN])


@pytest.fixture
def sdk(client, site):
    """sdk("identify", identity="ada") -> the response to what the SDK would post.

    identify() carries the identity's hash, as on a page whose server signs it;
    unsigned=True leaves it out."""

    def call(endpoint, *, origin=ORIGIN, client_id=CLIENT, content_type="text/plain", unsigned=False, **fields):
        if endpoint == "identify" and not unsigned and isinstance(fields.get("identity"), str):
            fields.setdefault("identityHash", site.identity_hash(fields["identity"]))
        body = {"siteKey": site.key, "clientId": client_id, **fields}
        headers = {"Origin": origin} if origin else {}
        return client.post(reverse(f"sdk:{endpoint}"), json.dumps(body), content_type=content_type, headers=headers)

    return call


def subscription(endpoint=ENDPOINT):
    return {"endpoint": endpoint, "expirationTime": None, "keys": {"p256dh": P256DH, "auth": AUTH}}


def errors_of(response):
    return {e["field"]: e["reason"] for e in response.json()["errors"]}


# Each endpoint's success


def test_identify_puts_the_browser_on_the_profile_and_answers_its_origin(sdk):
    response = sdk("identify", identity="ada", browser="firefox")
    assert response.status_code == 200
    assert response.json() == {"push_status": "ask"}
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in response["Vary"]
    device = Device.objects.get(client_id=CLIENT)
    assert device.profile.identity == "ada"
    assert device.platform == Device.Platform.WEB
    assert device.browser == Device.Browser.FIREFOX


def test_a_new_browser_of_a_known_person_joins_them_and_marks_them_seen(sdk):
    with time_machine.travel(NOW, tick=False) as clock:
        assert sdk("identify", identity="ada", browser="chrome").json() == {"push_status": "ask"}
        clock.shift(120)
        response = sdk("identify", client_id=STRANGER, identity="ada", browser="firefox")
        assert response.json() == {"push_status": "ask"}
    ada = Profile.objects.get(identity="ada")
    assert ada.last_seen_at == NOW + timedelta(seconds=120)
    devices = {d.client_id: (d.browser, d.platform, d.last_seen_at) for d in ada.devices.all()}
    assert devices == {CLIENT: ("chrome", "web", NOW), STRANGER: ("firefox", "web", NOW + timedelta(seconds=120))}
    assert Profile.objects.count() == 1
    # Made with the models' defaults, as Profile() and Device() would have them.
    assert (ada.properties, ada.name, ada.is_test, ada.created_at) == ({}, "", False, NOW)
    device = Device.objects.get(client_id=STRANGER)
    assert (device.categories, device.push_status, device.endpoint, device.created_at) == (
        [],
        "ask",
        "",
        NOW + timedelta(seconds=120),
    )


def test_identify_stores_the_profile_fields_sent_with_it(sdk):
    response = sdk("identify", identity="ada", profile={"name": "Ada", "properties": {"customer_type": "Gold"}})
    assert response.status_code == 200
    ada = Profile.objects.get(identity="ada")
    assert ada.name == "Ada"
    assert ada.properties == {"customer_type": "Gold"}


def test_track_records_the_event_on_the_browsers_profile(sdk):
    sdk("identify", identity="ada")
    response = sdk("events", name="Added To Cart", properties={"price": 12.5})
    assert response.status_code == 200
    event = Event.objects.get(name="Added To Cart")
    assert event.profile.identity == "ada"
    assert event.properties == {"price": 12.5}


def test_subscriptions_store_the_subscription_and_allow_the_device(sdk):
    response = sdk("subscriptions", subscription=subscription(), categories=["deals"], browser="chrome")
    assert response.status_code == 200
    assert response.json() == {"push_status": "allowed"}
    device = Device.objects.get(client_id=CLIENT)
    assert (device.endpoint, device.p256dh, device.auth) == (ENDPOINT, P256DH, AUTH)
    assert device.push_status == Device.PushStatus.ALLOWED
    assert device.categories == ["deals"]
    assert device.reachable


def test_a_subscription_sent_again_under_a_new_client_id_moves_to_that_device(sdk):
    # The browser's storage was cleared (a new client id) but its push subscription survived.
    sdk("subscriptions", subscription=subscription())
    assert sdk("subscriptions", client_id=STRANGER, subscription=subscription()).status_code == 200
    before, now = Device.objects.get(client_id=CLIENT), Device.objects.get(client_id=STRANGER)
    assert (now.endpoint, now.push_status) == (ENDPOINT, Device.PushStatus.ALLOWED)
    assert (before.endpoint, before.p256dh, before.auth, before.push_status) == ("", "", "", Device.PushStatus.ASK)


def test_a_subscription_moves_between_browsers_seen_within_the_minute(sdk):
    # Both identified first, as on a first visit: PostgreSQL stores it in one statement,
    # whose takeover must end before the device takes the (unique) endpoint.
    sdk("identify", identity="ada", browser="chrome")
    sdk("identify", client_id=STRANGER, identity="bob", browser="chrome")
    sdk("subscriptions", subscription=subscription(), categories=["deals"], browser="chrome")
    response = sdk("subscriptions", client_id=STRANGER, subscription=subscription(), browser="chrome")
    assert response.json() == {"push_status": "allowed"}
    before, now = Device.objects.get(client_id=CLIENT), Device.objects.get(client_id=STRANGER)
    assert (now.endpoint, now.p256dh, now.auth, now.push_status, now.categories) == (
        ENDPOINT,
        P256DH,
        AUTH,
        "allowed",
        [],
    )
    assert (before.endpoint, before.p256dh, before.auth, before.push_status) == ("", "", "", Device.PushStatus.ASK)
    assert before.categories == ["deals"]


def test_a_subscription_notes_a_new_browser_name_and_a_visit_after_the_minute(sdk):
    with time_machine.travel(NOW, tick=False) as clock:
        sdk("identify", identity="ada", browser="chrome")
        sdk("subscriptions", subscription=subscription(), browser="edge")
        device = Device.objects.get(client_id=CLIENT)
        assert (device.browser, device.endpoint, device.last_seen_at) == ("edge", ENDPOINT, NOW)
        clock.shift(61)
        sdk("subscriptions", subscription=subscription(ENDPOINT + "-renewed"), browser="edge")
        device = Device.objects.get(client_id=CLIENT)
        assert (device.endpoint, device.last_seen_at) == (ENDPOINT + "-renewed", NOW + timedelta(seconds=61))


def test_a_renewed_subscription_without_categories_keeps_the_chosen_ones(sdk):
    sdk("subscriptions", subscription=subscription(), categories=["deals"])
    renewed = ENDPOINT + "-renewed"
    assert sdk("subscriptions", subscription=subscription(renewed)).status_code == 200
    device = Device.objects.get(client_id=CLIENT)
    assert (device.endpoint, device.categories) == (renewed, ["deals"])
    sdk("subscriptions", subscription=subscription(renewed), categories=[])
    assert Device.objects.get(client_id=CLIENT).categories == []


@pytest.mark.parametrize("status", ["ask", "blocked", "unsupported"])
def test_status_stores_what_the_browser_says(sdk, status):
    response = sdk("status", status=status)
    assert response.status_code == 200
    assert Device.objects.get(client_id=CLIENT).push_status == status


def test_status_blocked_drops_a_stored_subscription(sdk):
    sdk("subscriptions", subscription=subscription())
    sdk("status", status="blocked")
    device = Device.objects.get(client_id=CLIENT)
    assert device.push_status == Device.PushStatus.BLOCKED
    assert device.endpoint == ""


def test_an_engagement_is_recorded_as_an_event_with_its_message_id(sdk):
    sdk("identify", identity="ada")
    assert sdk("engagements", message_id=41, kind="viewed").json() == {"recorded": True}
    assert sdk("engagements", message_id="41", kind="clicked", action="open").json() == {"recorded": True}
    events = {e.name: e.properties for e in Profile.objects.get(identity="ada").events.all()}
    assert events == {
        "Notification Viewed": {"message_id": "41"},
        "Notification Clicked": {"message_id": "41", "action": "open"},
    }


def test_an_engagement_reported_twice_counts_once(sdk):
    sdk("identify", identity="ada")
    sdk("engagements", message_id="41", kind="clicked")
    again = sdk("engagements", message_id="41", kind="clicked")
    assert again.status_code == 200
    assert again.json() == {"recorded": False}
    assert Event.objects.filter(name="Notification Clicked").count() == 1


# Devices changing hands


def test_identify_as_another_moves_a_subscribed_device_and_suspends_the_first_profiles(sdk):
    sdk("identify", identity="ada")
    sdk("subscriptions", subscription=subscription(), browser="chrome")
    sdk("identify", identity="bob")
    device = Device.objects.get(client_id=CLIENT)
    assert device.profile.identity == "bob"
    assert device.push_status == Device.PushStatus.ALLOWED
    assert device.endpoint == ENDPOINT
    ada = Profile.objects.get(identity="ada")
    assert [(d.push_status, d.endpoint) for d in ada.devices.all()] == [(Device.PushStatus.SUSPENDED, "")]


def test_an_anonymous_browser_that_identifies_is_merged_without_a_suspended_device(sdk):
    sdk("subscriptions", subscription=subscription())
    sdk("events", name="Product Viewed")
    anonymous = Device.objects.get(client_id=CLIENT).profile
    sdk("identify", identity="ada")
    ada = Profile.objects.get(identity="ada")
    assert [d.push_status for d in ada.devices.all()] == [Device.PushStatus.ALLOWED]
    assert list(ada.events.values_list("name", flat=True)) == ["Product Viewed"]
    assert not Profile.objects.filter(pk=anonymous.pk).exists()
    assert not Device.objects.filter(push_status=Device.PushStatus.SUSPENDED).exists()


# Who may call


def test_an_unknown_site_key_is_refused(client):
    response = client.post(
        reverse("sdk:identify"),
        json.dumps({"siteKey": "pk_nobody", "clientId": CLIENT, "identity": "ada"}),
        content_type="text/plain",
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 403
    assert "Unknown site key" in response.json()["detail"]
    assert not Device.objects.exists()


def test_an_origin_the_site_does_not_allow_is_refused_by_name(sdk):
    response = sdk("identify", identity="ada", origin="https://evil.example.net")
    assert response.status_code == 403
    assert "https://evil.example.net is not allowed" in response.json()["detail"]
    assert not Device.objects.exists()


def test_a_request_without_an_origin_is_refused(sdk):
    response = sdk("identify", identity="ada", origin=None)
    assert response.status_code == 403
    assert "no Origin header" in response.json()["detail"]


def test_a_preflight_is_answered_with_the_methods_and_headers_allowed(client):
    response = client.options(
        reverse("sdk:subscriptions"),
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert response["Access-Control-Allow-Headers"].lower() == "content-type"
    assert "Origin" in response["Vary"]


def test_a_json_content_type_is_accepted_too(sdk):
    assert sdk("identify", identity="ada", content_type="application/json").status_code == 200


def test_get_is_not_allowed(client):
    response = client.get(reverse("sdk:events"), headers={"Origin": ORIGIN})
    assert response.status_code == 405
    assert response["Allow"] == "POST, OPTIONS"


# What a client can get wrong


@pytest.mark.parametrize(
    "body",
    ["{not json", "[1, 2]", '{"siteKey": "x", "n": NaN}', "\xff\xfe", "[" * 5000 + "]" * 5000],
    ids=["broken", "not-an-object", "nan", "not-utf8", "deeply-nested"],
)
def test_a_body_that_is_not_a_json_object_is_a_400(client, body):
    response = client.post(
        reverse("sdk:events"), body.encode("latin-1"), content_type="text/plain", headers={"Origin": ORIGIN}
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_a_body_without_a_site_key_names_it(client):
    response = client.post(
        reverse("sdk:events"), json.dumps({"clientId": CLIENT}), content_type="text/plain", headers={"Origin": ORIGIN}
    )
    assert response.status_code == 400
    assert "siteKey" in errors_of(response)


@pytest.mark.parametrize(
    ("endpoint", "fields", "field"),
    [
        ("identify", {}, "identity"),
        ("identify", {"identity": "ada", "profile": {"email": "not-an-email"}}, "profile.email"),
        ("identify", {"identity": "ada", "profile": {"identity": "bob"}}, "profile.identity"),
        ("identify", {"identity": "ada", "profile": {"is_test": True}}, "profile.is_test"),
        ("identify", {"identity": "anon:someone-else"}, "identity"),
        ("events", {"name": "Charged", "properties": {"amount": {"nested": 1}}}, "properties.amount"),
        ("events", {"name": "Charged", "colour": "red"}, "colour"),
        ("subscriptions", {"subscription": {**subscription(), "endpoint": "not a url"}}, "subscription.endpoint"),
        ("subscriptions", {"subscription": {"endpoint": ENDPOINT, "keys": {"auth": AUTH}}}, "subscription.keys.p256dh"),
        (
            "subscriptions",
            {"subscription": subscription() | {"keys": {"p256dh": AUTH, "auth": AUTH}}},
            "subscription.keys.p256dh",
        ),
        ("status", {"status": "maybe"}, "status"),
        ("status", {"status": "ask", "browser": "netscape"}, "browser"),
        ("engagements", {"message_id": "41", "kind": "liked"}, "kind"),
        ("engagements", {"kind": "viewed"}, "message_id"),
    ],
)
def test_a_bad_field_is_a_400_naming_it_and_nothing_is_written(sdk, endpoint, fields, field):
    response = sdk(endpoint, **fields)
    assert response.status_code == 400
    errors = errors_of(response)
    # A union's error may name the member that refused it, e.g. properties.amount.str.
    assert any(name == field or name.startswith(f"{field}.") for name in errors), errors
    assert not Device.objects.exists()
    assert not Event.objects.exists()


def test_a_client_id_that_is_not_an_id_is_a_400(sdk):
    response = sdk("identify", identity="ada", client_id="short")
    assert response.status_code == 400
    assert "clientId" in errors_of(response)


def test_a_body_over_the_limit_is_a_413(sdk):
    response = sdk("events", name="Big", properties={"blob": "x" * 70_000})
    assert response.status_code == 413
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert not Event.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_a_client_over_the_rate_gets_a_429_with_retry_after(sdk, settings, client, site):
    settings.SDK_RATE_LIMIT = "3/m"
    for _ in range(3):
        assert sdk("events", name="Page Viewed").status_code == 200
    response = sdk("events", name="Page Viewed")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Retry-After" in response["Access-Control-Expose-Headers"]
    assert Event.objects.count() == 3
    # Another address keeps its own allowance.
    other = client.post(
        reverse("sdk:events"),
        json.dumps({"siteKey": site.key, "clientId": CLIENT, "name": "Page Viewed"}),
        content_type="text/plain",
        headers={"Origin": ORIGIN},
        REMOTE_ADDR="10.0.0.9",
    )
    assert other.status_code == 200


# The demo site that loads the SDK (config/demo_site.py)


def test_the_demo_site_is_a_404_in_production_and_makes_nothing(client, settings):
    assert settings.DEBUG is False
    assert settings.DEMO_SITE is False  # DEMO_SITE defaults to DEBUG
    assert client.get(reverse("demo-site")).status_code == 404
    assert client.get(reverse("demo-site-sw")).status_code == 404
    assert not Site.objects.exists()
    assert not VapidKey.objects.exists()


@pytest.fixture
def demo_on(settings):
    settings.DEMO_SITE = True


def test_the_demo_page_is_public_and_lets_its_own_origin_use_the_demo_site_key(client, demo_on):
    response = client.get(reverse("demo-site"))
    assert response.status_code == 200
    site = Site.objects.get(name="Demo site")
    assert site.allows("http://testserver")
    options = response.context["sdk_options"]
    assert options["siteKey"] == site.key
    assert options["vapidPublicKey"] == current_public_key()
    assert b"/static/sdk/clarion.js" in response.content


def test_the_demo_page_signs_its_accounts_identities_on_the_server(client, demo_on):
    response = client.get(reverse("demo-site"))
    site = Site.objects.get(name="Demo site")
    assert site.verify_identity
    accounts = response.context["accounts"]
    assert [a["identity"] for a in accounts] == ["ada", "bob", "carmen"]
    assert all(a["identity_hash"] == site.identity_hash(a["identity"]) for a in accounts)
    assert site.identity_secret not in response.content.decode()
    identify = client.post(
        reverse("sdk:identify"),
        json.dumps(
            {"siteKey": site.key, "clientId": CLIENT, "identity": "ada", "identityHash": accounts[0]["identity_hash"]}
        ),
        content_type="text/plain",
        headers={"Origin": "http://testserver"},
    )
    assert identify.status_code == 200


def test_the_demo_service_worker_is_javascript_allowed_to_control_the_demo_page(client, demo_on):
    response = client.get(reverse("demo-site-sw"), {"siteKey": "pk_x", "clientId": CLIENT})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/demo/site/"
    assert b'addEventListener("push"' in response.content


# Identity verification


def test_new_sites_verify_identities(db):
    assert Site.objects.create(name="Shop").verify_identity


def test_a_site_that_verifies_identities_needs_the_servers_hash_even_for_a_new_identity(sdk, site):
    refused = sdk("identify", identity="ada", unsigned=True)
    assert refused.status_code == 403
    assert "identityHash is needed: this site verifies identities" in refused.json()["detail"]
    wrong = sdk("identify", identity="ada", identityHash=site.identity_hash("bob"))
    assert wrong.status_code == 403
    assert "identityHash does not match" in wrong.json()["detail"]
    assert not Profile.objects.filter(identity="ada").exists()
    assert sdk("identify", identity="ada", identityHash=site.identity_hash("ada")).status_code == 200
    assert Device.objects.get(client_id=CLIENT).profile.identity == "ada"


@pytest.fixture
def unverified(site):
    """The site with identity verification turned off (an Admin's choice)."""
    site.verify_identity = False
    site.save()
    return site


STRANGER = "5a5a5a5a-2222-4333-8444-555566667777"


def known_ada(sdk):
    """Ada, identified on her own browser with the site's hash and subscribed there."""
    sdk("identify", identity="ada", profile={"name": "Ada", "email": "ada@example.com", "properties": {"tier": "Gold"}})
    sdk("subscriptions", subscription=subscription())
    return Profile.objects.get(identity="ada")


def test_an_unsigned_identify_of_a_known_person_is_refused_and_changes_nothing(sdk, unverified):
    ada = known_ada(sdk)
    response = sdk(
        "identify",
        client_id=STRANGER,
        identity="ada",
        profile={"name": "Mallory", "email": "mallory@example.net", "properties": {"tier": "Free"}},
        unsigned=True,
    )
    assert response.status_code == 403
    assert "identityHash is needed" in response.json()["detail"]
    assert "known person" in response.json()["detail"]
    ada.refresh_from_db()
    assert (ada.name, ada.email, ada.properties) == ("Ada", "ada@example.com", {"tier": "Gold"})
    assert [(d.client_id, d.push_status, d.endpoint) for d in ada.devices.all()] == [
        (CLIENT, Device.PushStatus.ALLOWED, ENDPOINT)
    ]
    assert not Device.objects.filter(client_id=STRANGER).exists()


def test_an_unsigned_identify_cannot_move_a_known_persons_browser_to_a_new_identity(sdk, unverified):
    known_ada(sdk)
    response = sdk("identify", identity="bob", unsigned=True)
    assert response.status_code == 403
    assert "identityHash is needed" in response.json()["detail"]
    assert Device.objects.get(client_id=CLIENT).profile.identity == "ada"
    assert not Profile.objects.filter(identity="bob").exists()
    assert not Device.objects.filter(push_status=Device.PushStatus.SUSPENDED).exists()


def test_an_unsigned_identify_links_an_anonymous_browser_to_a_new_identity_when_verification_is_off(sdk, unverified):
    sdk("events", name="Product Viewed")
    response = sdk("identify", identity="newcomer", profile={"name": "Nell"}, unsigned=True)
    assert response.status_code == 200
    newcomer = Profile.objects.get(identity="newcomer")
    assert newcomer.name == "Nell"
    assert Device.objects.get(client_id=CLIENT).profile == newcomer
    assert list(newcomer.events.values_list("name", flat=True)) == ["Product Viewed"]


def test_the_linked_browser_may_repeat_an_unsigned_identify_but_not_change_the_profile(sdk, unverified):
    sdk("identify", identity="newcomer", profile={"name": "Nell"}, unsigned=True)
    assert sdk("identify", identity="newcomer", unsigned=True).status_code == 200
    refused = sdk("identify", identity="newcomer", profile={"name": "Someone else"}, unsigned=True)
    assert refused.status_code == 403
    assert "identityHash is needed" in refused.json()["detail"]
    assert Profile.objects.get(identity="newcomer").name == "Nell"


def test_a_signed_identify_may_move_and_update_a_known_person_when_verification_is_off(sdk, unverified):
    known_ada(sdk)
    response = sdk("identify", client_id=STRANGER, identity="ada", profile={"name": "Ada L."})
    assert response.status_code == 200
    assert Device.objects.get(client_id=STRANGER).profile.identity == "ada"
    assert Profile.objects.get(identity="ada").name == "Ada L."


@pytest.mark.parametrize("identity_hash", ["0" * 64, "é" * 64], ids=["wrong", "not-ascii"])
def test_a_hash_that_is_sent_must_match_even_when_verification_is_off(sdk, unverified, identity_hash):
    response = sdk("identify", identity="newcomer", identityHash=identity_hash)
    assert response.status_code == 403
    assert "identityHash does not match" in response.json()["detail"]
    assert not Profile.objects.filter(identity="newcomer").exists()


@contextlib.contextmanager
def _first_commits_while_the_second_waits(first):
    """Runs ``first`` in a transaction on another thread and holds it open; the body (the
    second request) runs meanwhile, and the first commits half a second later, while the
    second waits on the unique indexes."""
    linked, release = threading.Event(), threading.Event()

    def in_a_transaction():
        try:
            with transaction.atomic():
                first()
                linked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=in_a_transaction)
    thread.start()
    assert linked.wait(10)
    threading.Timer(0.5, release.set).start()
    try:
        yield
    finally:
        thread.join()


@pytest.mark.django_db(transaction=True)
def test_of_two_unsigned_identifies_of_one_new_identity_at_once_only_the_first_links(sdk, unverified):
    """The second request checks for the profile before the first has committed it,
    so both see a new identity: the unique index decides, and the loser is refused
    rather than moved onto the winner's new profile."""
    with _first_commits_while_the_second_waits(lambda: identify_browser(STRANGER, "newcomer", vouched=False)):
        second = sdk("identify", identity="newcomer", unsigned=True)
    assert second.status_code == 403
    assert "identityHash is needed" in second.json()["detail"]
    assert [d.client_id for d in Profile.objects.get(identity="newcomer").devices.all()] == [STRANGER]


@pytest.mark.django_db(transaction=True)
def test_two_first_signed_identifies_at_once_make_one_person_and_one_device_per_browser(sdk):
    """The second request finds neither the person nor the first browser's device, the
    first has not committed: its inserts wait on the unique indexes and then find the
    winner's rows (no IntegrityError, no savepoint to roll back to)."""

    def first_browser():
        identify_browser(CLIENT, "newcomer", vouched=True)
        identify_browser(STRANGER, "newcomer", vouched=True)

    with _first_commits_while_the_second_waits(first_browser):
        second = sdk("identify", identity="newcomer", client_id=STRANGER)
    assert second.status_code == 200, second.json()
    newcomer = Profile.objects.get(identity="newcomer")
    assert sorted(d.client_id for d in newcomer.devices.all()) == sorted([CLIENT, STRANGER])
    assert Device.objects.filter(client_id=STRANGER).count() == 1


def test_the_identity_hash_is_an_hmac_of_the_identity_with_the_sites_secret(site):
    import hashlib
    import hmac

    assert len(site.identity_secret) >= 40
    expected = hmac.new(site.identity_secret.encode(), b"ada", hashlib.sha256).hexdigest()
    assert site.identity_hash("ada") == expected
    assert Site.objects.create(name="Other").identity_secret != site.identity_secret
