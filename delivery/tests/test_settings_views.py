"""Settings → Delivery: limits, throttle, DND, amplification, and write-only FCM / APNs credentials."""

import datetime as dt
import html
import json
import logging

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.roles import ADMIN, MARKETER
from delivery.models import DeliverySettings
from tests.pushservices.apns import make_signing_key
from tests.pushservices.fcm import new_service_account_key

HTMX = {"HTTP_HX_REQUEST": "true"}
LIMITS = {
    "daily_cap": "3",
    "weekly_cap": "10",
    "throttle_per_15_min": "100000",
    "dnd_start": "22:00",
    "dnd_end": "08:00",
    "dnd_action": "discard",
    "amplification": "on",
}


@pytest.fixture
def admin(client_as):
    return client_as(ADMIN)


def service_account(project_id="shop-app-1"):
    info, _ = new_service_account_key(project_id, "push@shop-app-1.iam.gserviceaccount.com", "https://t.test/")
    return info


def apns_form(**changes):
    return {"team_id": "TEAM123456", "key_id": "KEY1234567", "topic": "com.example.shop", **changes}


def key_body(pem):
    """A line from the middle of a PEM key: what must never show up anywhere."""
    return pem.strip().splitlines()[2]


def test_the_settings_page_shows_the_delivery_sections_with_what_the_throttle_means(admin):
    DeliverySettings.objects.create(pk=1, throttle_per_15_min=100_000)
    content = admin.get("/settings/").content.decode()
    for section in ("delivery-limits", "delivery-fcm", "delivery-apns"):
        assert f'id="{section}"' in content
    assert "100,000 per 15 min (400,000 an hour). No device can receive push yet." in content


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        ("100000", "100,000 per 15 min (400,000 an hour)."),
        ("30000", "30,000 per 15 min (120,000 an hour)."),
        ("", "No throttle"),
        ("abc", "No throttle"),
    ],
)
def test_the_throttle_hint_follows_the_number_being_typed(admin, typed, hint):
    response = admin.get("/settings/delivery/throttle-hint/", {"throttle_per_15_min": typed}, **HTMX)
    assert hint in response.content.decode()


def test_saving_the_limits_stores_them_and_bumps_the_settings_time(admin):
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), tick=False):
        before = DeliverySettings.load().updated_at
    response = admin.post("/settings/delivery/limits/", LIMITS, **HTMX)
    assert response.status_code == 200
    assert "Saved." in response.content.decode()
    saved = DeliverySettings.load()
    assert (saved.daily_cap, saved.weekly_cap, saved.throttle_per_15_min) == (3, 10, 100_000)
    assert (saved.dnd_start, saved.dnd_end, saved.dnd_action) == (dt.time(22), dt.time(8), "discard")
    assert saved.amplification is True
    assert saved.updated_at > before


def test_empty_limits_mean_none_and_unticking_turns_amplification_off(admin):
    DeliverySettings.objects.create(pk=1, daily_cap=3, throttle_per_15_min=5, amplification=True)
    admin.post("/settings/delivery/limits/", {"dnd_action": "delay"}, **HTMX)
    saved = DeliverySettings.load()
    assert (saved.daily_cap, saved.weekly_cap, saved.throttle_per_15_min, saved.dnd_start) == (None, None, None, None)
    assert saved.amplification is False


def test_a_plain_post_saves_and_goes_back_to_the_settings_page(admin):
    response = admin.post("/settings/delivery/limits/", LIMITS)
    assert response.status_code == 303
    assert response["Location"] == "/settings/#delivery-limits"
    assert DeliverySettings.load().daily_cap == 3


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"weekly_cap": "2"}, "weekly_cap", "cannot be below the daily one"),
        ({"dnd_end": ""}, "dnd_end", "Give both ends of the DND hours"),
        ({"dnd_end": "22:00"}, "dnd_end", "another time than it starts"),
        ({"throttle_per_15_min": "0"}, "throttle_per_15_min", "Zero would stop every send"),
        ({"daily_cap": "-1"}, "daily_cap", "greater than or equal to 0"),
        ({"dnd_start": "25:00"}, "dnd_start", "Enter a valid time"),
    ],
)
def test_bad_limits_are_refused_next_to_the_field_and_nothing_is_saved(admin, changes, field, message):
    response = admin.post("/settings/delivery/limits/", {**LIMITS, **changes}, **HTMX)
    assert response.status_code == 422
    content = response.content.decode()
    # The message sits right after its field's input (delivery/_field.html).
    assert message in content.split(f'name="{field}"', 1)[1].split("<label", 1)[0]
    saved = DeliverySettings.load()
    assert (saved.daily_cap, saved.throttle_per_15_min, saved.amplification) == (None, None, False)


def test_a_plain_post_with_errors_answers_the_delivery_page_with_them(admin):
    response = admin.post("/settings/delivery/limits/", {**LIMITS, "weekly_cap": "2"})
    assert response.status_code == 422
    content = response.content.decode()
    assert "<h1>" in content and "cannot be below the daily one" in content
    assert DeliverySettings.load().weekly_cap is None


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/settings/delivery/"),
        ("get", "/settings/delivery/throttle-hint/"),
        ("post", "/settings/delivery/limits/"),
        ("post", "/settings/delivery/fcm/"),
        ("post", "/settings/delivery/fcm/remove/"),
        ("post", "/settings/delivery/apns/"),
        ("post", "/settings/delivery/apns/remove/"),
    ],
)
def test_only_admins_reach_delivery_settings(client_as, method, url):
    client = client_as(MARKETER)
    assert getattr(client, method)(url, LIMITS).status_code == 403
    assert DeliverySettings.load().daily_cap is None


def test_a_service_account_key_is_saved_with_the_project_id_from_it_and_never_shown(admin):
    info = service_account()
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), tick=False):
        response = admin.post(
            "/settings/delivery/fcm/", {"project_id": "", "service_account": json.dumps(info)}, **HTMX
        )
    assert response.status_code == 200
    saved = DeliverySettings.load()
    assert json.loads(saved.fcm_service_account) == info
    assert saved.fcm_project_id == "shop-app-1"
    assert saved.fcm_saved_at == dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    for page in (response, admin.get("/settings/"), admin.get("/settings/delivery/")):
        content = page.content.decode()
        assert "saved on 1 Mar 2026, 12:00" in content
        assert key_body(info["private_key"]) not in content and info["private_key_id"] not in content


def test_a_service_account_key_can_be_uploaded_as_a_file(admin):
    info = service_account()
    upload = SimpleUploadedFile("shop-app-1-firebase-adminsdk.json", json.dumps(info).encode(), "application/json")
    response = admin.post("/settings/delivery/fcm/", {"project_id": "", "service_account_file": upload})
    assert response.status_code == 303
    assert json.loads(DeliverySettings.load().fcm_service_account) == info


def test_a_bad_service_account_key_is_refused_at_the_field_without_echoing_it(admin):
    info = service_account()
    info["type"] = "authorized_user"
    response = admin.post("/settings/delivery/fcm/", {"service_account": json.dumps(info)}, **HTMX)
    assert response.status_code == 422
    content = html.unescape(response.content.decode())
    assert 'must be "service_account"' in content.split('name="service_account"', 1)[1]
    assert key_body(info["private_key"]) not in content
    assert DeliverySettings.load().fcm_service_account == ""


def test_replacing_only_the_project_id_keeps_the_saved_key(admin):
    info = service_account()
    admin.post("/settings/delivery/fcm/", {"service_account": json.dumps(info)}, **HTMX)
    response = admin.post("/settings/delivery/fcm/", {"project_id": "shop-app-2", "service_account": ""}, **HTMX)
    assert response.status_code == 200
    saved = DeliverySettings.load()
    assert (saved.fcm_project_id, json.loads(saved.fcm_service_account)) == ("shop-app-2", info)


def test_removing_the_fcm_credentials_clears_them(admin):
    admin.post("/settings/delivery/fcm/", {"service_account": json.dumps(service_account())}, **HTMX)
    response = admin.post("/settings/delivery/fcm/remove/", **HTMX)
    saved = DeliverySettings.load()
    assert (saved.fcm_project_id, saved.fcm_service_account, saved.fcm_saved_at) == ("", "", None)
    assert "not set" in response.content.decode()


def test_an_apns_key_is_saved_with_its_ids_and_never_shown(admin):
    key = make_signing_key()
    response = admin.post("/settings/delivery/apns/", apns_form(private_key=key, sandbox="on"), **HTMX)
    assert response.status_code == 200
    saved = DeliverySettings.load()
    assert (saved.apns_team_id, saved.apns_key_id, saved.apns_topic) == ("TEAM123456", "KEY1234567", "com.example.shop")
    assert saved.apns_sandbox is True and saved.apns_private_key == key.strip() + "\n"
    for page in (response, admin.get("/settings/")):
        content = page.content.decode()
        assert "KEY1234567" in content and "sandbox host" in content
        assert key_body(key) not in content


def test_a_p8_key_can_be_uploaded_and_the_ids_changed_later_without_it(admin):
    key = make_signing_key()
    admin.post("/settings/delivery/apns/", apns_form(private_key_file=SimpleUploadedFile("AuthKey.p8", key.encode())))
    response = admin.post("/settings/delivery/apns/", apns_form(key_id="KEY7654321"), **HTMX)
    assert response.status_code == 200
    saved = DeliverySettings.load()
    assert (saved.apns_key_id, saved.apns_private_key, saved.apns_sandbox) == ("KEY7654321", key.strip() + "\n", False)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"private_key": ""}, "private_key", "Paste or upload the .p8 key"),
        ({"team_id": "team"}, "team_id", "10 capital letters"),
        ({"key_id": "KEY12345678"}, "key_id", "at most 10 characters"),
        ({"topic": "shop"}, "topic", "bundle id"),
    ],
)
def test_bad_apns_credentials_are_refused_next_to_the_field(admin, changes, field, message):
    response = admin.post(
        "/settings/delivery/apns/", apns_form(**{"private_key": make_signing_key(), **changes}), **HTMX
    )
    assert response.status_code == 422
    assert message in response.content.decode().split(f'name="{field}"', 1)[1].split("<label", 1)[0]
    assert DeliverySettings.load().apns_private_key == ""


def test_a_key_of_the_wrong_kind_is_refused_and_not_echoed(admin):
    wrong = service_account()["private_key"]  # an RSA key pasted into the .p8 box
    response = admin.post("/settings/delivery/apns/", apns_form(private_key=wrong), **HTMX)
    assert response.status_code == 422
    assert "EC P-256" in response.content.decode()
    assert key_body(wrong) not in response.content.decode()


def test_removing_the_apns_credentials_clears_them(admin):
    admin.post("/settings/delivery/apns/", apns_form(private_key=make_signing_key()), **HTMX)
    admin.post("/settings/delivery/apns/remove/", **HTMX)
    saved = DeliverySettings.load()
    assert (saved.apns_key_id, saved.apns_private_key, saved.apns_saved_at) == ("", "", None)


def test_no_secret_reaches_a_log_line_when_credentials_are_saved_or_refused(admin, caplog):
    info, key = service_account(), make_signing_key()
    broken = dict(info, type="authorized_user")
    with caplog.at_level(logging.DEBUG):
        admin.post("/settings/delivery/fcm/", {"service_account": json.dumps(info)}, **HTMX)
        admin.post("/settings/delivery/fcm/", {"service_account": json.dumps(broken)}, **HTMX)
        admin.post("/settings/delivery/apns/", apns_form(private_key=key), **HTMX)
        admin.post("/settings/delivery/apns/", apns_form(private_key=key, team_id="bad"), **HTMX)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "FCM credentials saved for project shop-app-1" in logged  # the saves were logged…
    assert "Unprocessable" in logged  # …and so were the refusals
    for secret in (key_body(info["private_key"]), info["private_key_id"], key_body(key)):
        assert secret not in logged


def test_the_admin_never_shows_the_credentials(client_as):
    admin = client_as(ADMIN)
    info, key = service_account(), make_signing_key()
    admin.post("/settings/delivery/fcm/", {"service_account": json.dumps(info)}, **HTMX)
    admin.post("/settings/delivery/apns/", apns_form(private_key=key), **HTMX)
    content = admin.get("/admin/delivery/deliverysettings/1/change/").content.decode()
    assert "shop-app-1" in content  # the page is the settings row…
    assert key_body(info["private_key"]) not in content and key_body(key) not in content  # …without its secrets
