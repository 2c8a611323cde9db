"""The JSON API under /api/v1/: each endpoint's success and each error a client can cause."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import override_settings

from segments.actions.keys import create_api_key, revoke_api_key
from segments.models import ApiKey, Device, Event, Profile, PropertyDefinition

APNS_TOKEN = "ab" * 32
FCM_TOKEN = "fcm-token_0123456789:abc"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
def api(client, db):
    key, full = create_api_key("test", rate_per_minute=10_000)

    def call(method, path, body=None, *, token=full, **extra):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = body if isinstance(body, bytes | str) or body is None else json.dumps(body)
        return getattr(client, method)(
            f"/api/v1{path}", data=data, content_type="application/json", headers=headers, **extra
        )

    call.key = key
    call.full_key = full
    return call


def test_profiles_are_created_then_updated_by_identity(api):
    response = api("post", "/profiles", {"profiles": [{"identity": "u1", "name": "Ann", "properties": {"tier": 1}}]})
    assert response.status_code == 200
    assert response.json() == {"created": 1, "updated": 0}
    update = {"identity": "u1", "city": "Paris", "properties": {"vip": True}}
    response = api("post", "/profiles", {"profiles": [update]})
    assert response.json() == {"created": 0, "updated": 1}
    profile = Profile.objects.get(identity="u1")
    assert (profile.name, profile.city) == ("Ann", "Paris")  # fields not sent are kept
    assert profile.properties == {"tier": 1, "vip": True}  # properties merge


def test_a_null_property_removes_it_and_a_null_field_clears_it(api):
    api("post", "/profiles", {"profiles": [{"identity": "u1", "name": "Ann", "properties": {"a": 1, "b": 2}}]})
    api("post", "/profiles", {"profiles": [{"identity": "u1", "name": None, "properties": {"a": None}}]})
    profile = Profile.objects.get(identity="u1")
    assert profile.properties == {"b": 2}
    assert profile.name == ""


def test_the_same_identity_twice_in_a_batch_applies_in_order(api):
    batch = [{"identity": "u1", "city": "Rome", "properties": {"a": 1}}, {"identity": "u1", "city": "Oslo"}]
    assert api("post", "/profiles", {"profiles": batch}).json() == {"created": 1, "updated": 0}
    profile = Profile.objects.get(identity="u1")
    assert (profile.city, profile.properties) == ("Oslo", {"a": 1})


def test_profile_properties_join_the_registry_with_their_types(api):
    props = {"customer_type": "Gold", "ltv": 12.5, "vip": True, "signup": "2024-03-01", "tags": ["a"]}
    api("post", "/profiles", {"profiles": [{"identity": "u1", "properties": props}]})
    types = dict(PropertyDefinition.objects.filter(scope="profile").values_list("name", "type"))
    assert types == {"customer_type": "string", "ltv": "number", "vip": "boolean", "signup": "date", "tags": "list"}


def test_one_bad_record_writes_nothing_and_names_each_bad_record(api):
    batch = [
        {"identity": "ok-1"},
        {"identity": "bad-1", "email": "not-an-email"},
        {"identity": "ok-2"},
        {"identity": "bad-2", "timezone": "Mars/Olympus", "age": -3},
    ]
    response = api("post", "/profiles", {"profiles": batch})
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "The request was not accepted; nothing was written."
    found = {(e["index"], e["field"]) for e in body["errors"]}
    assert found == {(1, "email"), (3, "timezone"), (3, "age")}
    assert "not a valid email address" in next(e["reason"] for e in body["errors"] if e["field"] == "email")
    assert not Profile.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"profiles": []}, "profiles"),
        ({"profiles": [{"identity": "x"}] * 1001}, "profiles"),
        ({"profiles": [{"identity": "x", "shoe_size": 42}]}, "shoe_size"),
        ({"profiles": [{"identity": "   "}]}, "identity"),
        ({"profiles": [{"identity": "x", "phone": "555-1234"}]}, "phone"),
        ({"profiles": [{"identity": "x", "properties": {"nested": {"a": 1}}}]}, "properties.nested"),
        ({"profiles": [{"identity": "x", "latitude": 91}]}, "latitude"),
        ({"profiles": [{"identity": "nul\u0000"}]}, None),
    ],
)
def test_bad_profile_fields_are_named(api, body, field):
    response = api("post", "/profiles", body)
    assert response.status_code == 400
    fields = [e["field"] for e in response.json()["errors"]]
    assert field in fields or (field is None and fields), fields
    assert not Profile.objects.exists()


def test_nan_is_refused_not_a_server_error(api):
    response = api("post", "/events", '{"events": [{"identity": "u", "name": "E", "properties": {"x": NaN}}]}')
    assert response.status_code == 400


def test_a_body_that_is_not_json_is_a_400(api):
    response = api("post", "/events", "{not json")
    assert response.status_code == 400
    assert response.json()["detail"] == "Cannot parse request body"


def test_events_are_recorded_and_unknown_profiles_created(api):
    Profile.objects.create(identity="known")
    events = [
        {"identity": "known", "name": "Added To Cart", "properties": {"price": 9.5}, "occurred_at": "2026-11-01T10:00"},
        {"identity": "new", "name": "Charged", "properties": {"amount": 20}},
    ]
    response = api("post", "/events", {"events": events})
    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "profiles_created": 1}
    cart = Event.objects.get(name="Added To Cart")
    assert cart.profile.identity == "known"
    assert cart.occurred_at.isoformat() == "2026-11-01T10:00:00+00:00"  # no offset means UTC
    assert Profile.objects.get(identity="new").last_seen_at is not None
    assert PropertyDefinition.objects.filter(scope="event", event_name="Charged", name="amount", type="number").exists()


def test_a_bad_event_in_a_batch_writes_nothing(api):
    events = [{"identity": "a", "name": "Ok"}, {"identity": "b", "name": "", "occurred_at": "yesterday"}]
    response = api("post", "/events", {"events": events})
    assert response.status_code == 400
    assert {(e["index"], e["field"]) for e in response.json()["errors"]} == {(1, "name"), (1, "occurred_at")}
    assert not Event.objects.exists()
    assert not Profile.objects.exists()


def test_an_event_far_in_the_future_is_refused(api):
    response = api("post", "/events", {"events": [{"identity": "a", "name": "E", "occurred_at": "2999-01-01T00:00Z"}]})
    assert response.json()["errors"][0]["reason"].endswith("more than a day in the future")


def test_a_device_is_registered_then_refreshed(api):
    body = {"identity": "u1", "platform": "ios", "token": APNS_TOKEN, "app_version": "2.1", "os_version": "17.4"}
    response = api("post", "/devices", body)
    assert response.status_code == 201
    assert response.json()["created"] is True
    assert response.json()["token_hint"] == f"…{APNS_TOKEN[-8:]}"
    response = api("post", "/devices", {**body, "app_version": "2.2"})
    assert response.status_code == 200
    device = Device.objects.get()
    assert (device.app_version, device.push_status, device.profile.identity) == ("2.2", "allowed", "u1")


def test_a_refresh_keeps_the_fields_it_does_not_send_and_a_blocked_status(api):
    full = {
        "identity": "u1",
        "platform": "android",
        "token": FCM_TOKEN,
        "push_status": "blocked",
        "app_version": "2.1",
        "make": "Google",
        "model": "Pixel 8",
        "os_version": "14",
        "sdk_version": "1.4.0",
        "categories": ["deals"],
    }
    api("post", "/devices", full)
    response = api("post", "/devices", {"identity": "u1", "platform": "android", "token": FCM_TOKEN})
    assert response.status_code == 200
    device = Device.objects.get()
    assert device.push_status == "blocked"
    kept = ("app_version", "make", "model", "os_version", "sdk_version", "categories")
    assert {name: getattr(device, name) for name in kept} == {name: full[name] for name in kept}


def test_a_refresh_changes_the_push_status_when_it_sends_one(api):
    api("post", "/devices", {"identity": "u1", "platform": "android", "token": FCM_TOKEN, "push_status": "blocked"})
    api("post", "/devices", {"identity": "u1", "platform": "android", "token": FCM_TOKEN, "push_status": "allowed"})
    assert Device.objects.get().push_status == "allowed"


def test_a_new_device_without_a_push_status_is_allowed(api):
    response = api("post", "/devices", {"identity": "u1", "platform": "android", "token": FCM_TOKEN})
    assert response.status_code == 201
    assert Device.objects.get().push_status == "allowed"


def test_a_token_that_moves_to_another_profile_leaves_the_first_suspended(api):
    api("post", "/devices", {"identity": "first", "platform": "android", "token": FCM_TOKEN})
    api("post", "/devices", {"identity": "second", "platform": "android", "token": FCM_TOKEN})
    moved = Device.objects.get(token=FCM_TOKEN)
    assert moved.profile.identity == "second"
    left = Device.objects.get(profile__identity="first")
    assert (left.push_status, left.token) == ("suspended", "")


def test_a_token_another_install_had_moves_to_the_install_that_sends_it(api):
    # The token's device and the install's were two rows: writing the install id on the
    # token's device broke segments_device_client_uniq, a 500 (the API fuzz test found it).
    api("post", "/devices", {"identity": "u1", "platform": "android", "token": FCM_TOKEN, "install_id": "X"})
    api("post", "/devices", {"identity": "u1", "platform": "android", "token": "other-token", "install_id": "Y"})
    body = {"identity": "u1", "platform": "android", "token": FCM_TOKEN, "install_id": "Y"}
    response = api("post", "/devices", body)
    assert response.status_code == 200
    install = Device.objects.get(client_id="Y")
    assert (install.token, install.retired_at) == (FCM_TOKEN, None)
    before = Device.objects.get(client_id="X")
    assert before.token == "" and before.retired_at is not None


def test_an_install_id_that_is_a_device_of_another_platform_is_refused(api):
    # It took that device over: a browser (its client id) was left a web device carrying an
    # FCM token, sent to at its web endpoint, and moved to another person.
    walter = Profile.objects.create(identity="walter")
    browser = Device.objects.create(
        profile=walter, platform="web", client_id="B1", endpoint="https://push.example/1", push_status="allowed"
    )
    body = {"identity": "u1", "platform": "android", "token": FCM_TOKEN, "install_id": "B1"}
    response = api("post", "/devices", body)
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "install_id"
    browser.refresh_from_db()
    assert (browser.platform, browser.token, browser.profile_id) == ("web", "", walter.pk)
    assert not Profile.objects.filter(identity="u1").exists()  # nothing half-written
    # Without the install id the token registers as a device of its own.
    del body["install_id"]
    assert api("post", "/devices", body).status_code == 201


def test_a_malformed_apns_token_is_refused(api):
    response = api("post", "/devices", {"identity": "u", "platform": "ios", "token": "not-hex-token"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "token"


def test_deleting_a_device_retires_it(api):
    api("post", "/devices", {"identity": "u1", "platform": "android", "token": FCM_TOKEN})
    assert api("delete", f"/devices/android/{FCM_TOKEN}").status_code == 204
    device = Device.objects.get()
    assert device.retired_at is not None
    assert not device.reachable
    assert api("delete", f"/devices/android/{FCM_TOKEN}").status_code == 404
    # The app registers the token again: it is live again.
    api("post", "/devices", {"identity": "u1", "platform": "android", "token": FCM_TOKEN})
    assert Device.objects.get().reachable


def test_an_unknown_platform_in_the_path_is_a_400(api):
    assert api("delete", f"/devices/pager/{FCM_TOKEN}").status_code == 400


def test_a_profile_comes_back_with_its_devices_and_latest_events(api):
    api("post", "/profiles", {"profiles": [{"identity": "user/7", "name": "Ann"}]})
    api("post", "/devices", {"identity": "user/7", "platform": "android", "token": FCM_TOKEN})
    api("post", "/events", {"events": [{"identity": "user/7", "name": f"E{i}"} for i in range(25)]})
    response = api("get", "/profiles/user/7")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Ann"
    assert [d["platform"] for d in body["devices"]] == ["android"]
    assert FCM_TOKEN not in response.content.decode()
    assert len(body["latest_events"]) == 20


def test_an_unknown_profile_is_a_404(api):
    assert api("get", "/profiles/nobody").status_code == 404


@pytest.mark.parametrize("token", [None, "wrong", "clk_deadbeef_nope"])
def test_a_missing_or_wrong_key_is_a_401(api, token):
    response = api("post", "/events", {"events": [{"identity": "a", "name": "E"}]}, token=token)
    assert response.status_code == 401
    assert "API key" in response.json()["detail"]
    assert not Event.objects.exists()


def test_a_revoked_key_is_a_401(api):
    revoke_api_key(api.key)
    assert api("get", "/profiles/x").status_code == 401


def test_keys_are_stored_hashed_and_record_their_last_use(api):
    stored = ApiKey.objects.get()
    assert api.full_key not in (stored.hashed_key, stored.prefix)
    assert api.full_key.startswith(f"clk_{stored.prefix}_")
    assert stored.last_used_at is None
    api("get", "/profiles/x")
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_a_keys_use_is_noted_again_after_the_minute(api):
    with time_machine.travel(NOW, tick=False):
        api("get", "/profiles/x")
    with time_machine.travel(NOW + timedelta(seconds=30), tick=False):
        api("get", "/profiles/x")
        assert ApiKey.objects.get().last_used_at == NOW
    cache.delete(f"segments:api-key-used:{api.key.prefix}")  # its minute is over (the cache's clock is its own)
    with time_machine.travel(NOW + timedelta(seconds=75), tick=False):
        api("get", "/profiles/x")
    assert ApiKey.objects.get().last_used_at == NOW + timedelta(seconds=75)


def test_a_key_over_its_rate_gets_429_with_retry_after(api):
    ApiKey.objects.filter(pk=api.key.pk).update(rate_per_minute=2)
    statuses = [api("get", "/profiles/x").status_code for _ in range(3)]
    assert statuses == [404, 404, 429]
    response = api("get", "/profiles/x")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "retry after" in response.json()["detail"]


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_over_the_limit_is_a_413(api):
    response = api("post", "/events", {"events": [{"identity": "a" * 200, "name": "E"}] * 10})
    assert response.status_code == 413
    assert not Event.objects.exists()


def test_the_openapi_document_and_docs_are_served(client, db):
    document = client.get("/api/openapi.json")
    assert document.status_code == 200
    assert {"/api/v1/profiles", "/api/v1/events", "/api/v1/devices"} <= set(document.json()["paths"])
    assert client.get("/api/docs").status_code == 200


def test_anonymous_identities_are_kept_for_the_sdk(api):
    response = api("post", "/events", {"events": [{"identity": "anon:abc", "name": "E"}]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "identity"
