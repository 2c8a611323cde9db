"""The audit log of Settings: API keys, websites, the VAPID key, delivery limits and
credentials, and roles — who changed which, never a secret — shown on the Settings page;
and the log itself in the admin, read-only."""

import json
import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model

from accounts import roles
from accounts.models import AuditEntry
from delivery.models import VapidKey
from segments.models import ApiKey, Site
from tests.pushservices.apns import make_signing_key
from tests.pushservices.fcm import new_service_account_key

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def ada(make_user):
    return make_user(roles.ADMIN, username="ada")


@pytest.fixture
def admin(client, ada):
    client.force_login(ada)
    return client


def only_entry(model):
    [entry] = AuditEntry.objects.filter(content_type__model=model)
    return entry


def everything_in(entry):
    return " ".join([entry.actor_name, entry.verb, entry.object_label, entry.detail])


def test_creating_and_revoking_an_api_key_are_recorded_by_the_admin_who_did_it(admin, ada):
    response = admin.post("/settings/api-keys/", {"name": "Backend", "rate_per_minute": 600})
    key = ApiKey.objects.get()
    full_key = re.search(r'value="(clk_[^"]+)" aria-label="New API key"', response.content.decode()).group(1)
    admin.post(f"/settings/api-keys/{key.pk}/revoke/")
    revoked, created = AuditEntry.objects.filter(content_type__model="apikey", object_id=key.pk)
    assert (created.verb, created.actor, created.detail, created.created_at) == ("created", ada, "600/min", NOW)
    assert (revoked.verb, revoked.actor) == ("revoked", ada)
    assert created.object_label.startswith("Backend (clk_")
    assert full_key.split("_", 2)[2] not in everything_in(created)  # the secret part of the key


def test_revoking_a_revoked_key_again_records_nothing(admin):
    admin.post("/settings/api-keys/", {"name": "Backend", "rate_per_minute": 600})
    key = ApiKey.objects.get()
    admin.post(f"/settings/api-keys/{key.pk}/revoke/")
    admin.post(f"/settings/api-keys/{key.pk}/revoke/")
    assert AuditEntry.objects.filter(verb="revoked").count() == 1


def test_a_website_created_switched_and_removed_is_recorded_each_time(admin, ada):
    admin.post("/settings/sites/", {"name": "Shop", "origins": "https://shop.example.com"})
    site = Site.objects.get()
    admin.post(f"/settings/sites/{site.pk}/verify/", {"verify": "off"})
    admin.post(f"/settings/sites/{site.pk}/delete/")
    assert not Site.objects.exists()
    entries = AuditEntry.objects.filter(content_type__model="site", object_id=site.pk).order_by("pk")
    assert [(entry.verb, entry.detail) for entry in entries] == [
        ("created", "origins https://shop.example.com"),
        ("changed", "identity verification off"),
        ("deleted", ""),
    ]
    assert {(entry.actor, entry.object_label) for entry in entries} == {(ada, "Shop")}
    assert site.identity_secret not in " ".join(everything_in(entry) for entry in entries)


def test_generating_the_vapid_key_is_recorded_once_and_without_the_private_key(admin, ada):
    admin.post("/settings/vapid/")
    admin.post("/settings/vapid/")  # keeps the first pair: nothing changed
    entry = only_entry("vapidkey")
    assert (entry.verb, entry.actor) == ("created", ada)
    assert VapidKey.objects.get().private_key not in everything_in(entry)


def test_saving_fcm_credentials_says_which_and_the_key_appears_nowhere_in_the_entry(admin, ada):
    info, _ = new_service_account_key("shop-app-1", "push@shop-app-1.iam.gserviceaccount.com", "https://t.test/")
    admin.post("/settings/delivery/fcm/", {"project_id": "", "service_account": json.dumps(info)}, **HTMX)
    entry = only_entry("deliverysettings")
    assert (entry.verb, entry.actor, entry.detail) == (
        "changed",
        ada,
        "FCM credentials saved: project id and service account key",
    )
    text = everything_in(entry)
    for secret in (info["private_key"].strip().splitlines()[2], info["private_key_id"]):
        assert secret not in text


def test_saving_apns_credentials_without_a_new_key_says_so(admin, ada):
    key = make_signing_key()
    form = {"team_id": "TEAM123456", "key_id": "KEY1234567", "topic": "com.example.shop"}
    admin.post("/settings/delivery/apns/", {**form, "private_key": key}, **HTMX)
    admin.post("/settings/delivery/apns/", {**form, "key_id": "KEY7654321"}, **HTMX)
    first, second = AuditEntry.objects.filter(content_type__model="deliverysettings").order_by("pk")
    assert first.detail == "APNs credentials saved: team id, key id, topic, host and .p8 key"
    assert second.detail == "APNs credentials saved: team id, key id, topic, host"
    assert key.strip().splitlines()[2] not in everything_in(first)


def test_removing_credentials_and_saving_limits_name_what_changed(admin):
    admin.post("/settings/delivery/fcm/remove/", **HTMX)
    limits = {"daily_cap": "3", "throttle_per_15_min": "", "dnd_action": "delay"}
    admin.post("/settings/delivery/limits/", limits, **HTMX)
    admin.post("/settings/delivery/limits/", limits, **HTMX)  # the same again: nothing to record
    details = list(AuditEntry.objects.order_by("pk").values_list("detail", flat=True))
    assert details == ["FCM credentials removed", "limits: changed daily cap"]


def test_changing_a_role_records_from_what_to_what(admin, ada, make_user):
    viewer = make_user(roles.VIEWER, username="vic")
    admin.post(f"/settings/users/{viewer.pk}/role/", {"role": roles.MARKETER}, **HTMX)
    entry = only_entry("user")
    assert (entry.verb, entry.actor, entry.object_label, entry.detail) == (
        "changed",
        ada,
        "vic",
        "role Viewer → Marketer",
    )


def test_a_refused_role_change_records_nothing(admin, ada):
    admin.post(f"/settings/users/{ada.pk}/role/", {"role": roles.VIEWER}, **HTMX)  # may not demote herself
    assert not AuditEntry.objects.exists()


def test_the_settings_page_shows_the_latest_changes_to_keys_sites_credentials_and_roles(admin, make_user):
    admin.post("/settings/sites/", {"name": "Shop", "origins": "https://shop.example.com"})
    admin.post(f"/settings/users/{make_user(roles.VIEWER, username='vic').pk}/role/", {"role": roles.MARKETER})
    history = admin.get("/settings/").content.decode().split('id="history"', 1)[1]
    assert history.index("role Viewer → Marketer") < history.index("origins https://shop.example.com")
    assert "site “Shop”" in history and "user “vic”" in history


def test_an_entry_keeps_its_actors_name_after_the_user_is_deleted(admin, ada):
    admin.post("/settings/sites/", {"name": "Shop", "origins": "https://shop.example.com"})
    get_user_model().objects.filter(pk=ada.pk).delete()
    entry = only_entry("site")
    assert (entry.actor, entry.who) == (None, "ada")


# --- the admin ---------------------------------------------------------------------


def test_the_admin_lists_entries_and_refuses_to_add_change_or_delete_them(admin):
    admin.post("/settings/sites/", {"name": "Shop", "origins": "https://shop.example.com"})
    entry = only_entry("site")
    listing = admin.get("/admin/accounts/auditentry/")
    assert listing.status_code == 200
    assert "Shop" in listing.content.decode() and "ada" in listing.content.decode()
    assert admin.get("/admin/accounts/auditentry/add/").status_code == 403
    assert admin.post(f"/admin/accounts/auditentry/{entry.pk}/change/", {"detail": "nothing"}).status_code == 403
    assert admin.post(f"/admin/accounts/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    admin.post("/admin/accounts/auditentry/", bulk)
    entry.refresh_from_db()
    assert entry.detail == "origins https://shop.example.com"


def test_even_a_superuser_cannot_change_an_entry_in_the_admin(client, admin, make_user):
    admin.post("/settings/sites/", {"name": "Shop", "origins": "https://shop.example.com"})
    entry = only_entry("site")
    client.force_login(get_user_model().objects.create_superuser("root", password="a-long-test-password"))
    assert client.get(f"/admin/accounts/auditentry/{entry.pk}/change/").status_code == 200  # it can be read
    assert client.post(f"/admin/accounts/auditentry/{entry.pk}/change/", {"detail": "x"}).status_code == 403
    assert client.post(f"/admin/accounts/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403


def test_changes_made_in_the_admin_are_recorded_too(admin, ada):
    admin.post("/settings/api-keys/", {"name": "Backend", "rate_per_minute": 600})
    key = ApiKey.objects.get()
    admin.post("/admin/segments/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    site = Site.objects.create(name="Shop", allowed_origins=["https://shop.example.com"])
    change = {"name": "Shop EU", "allowed_origins": '["https://shop.example.com"]', "verify_identity": "on"}
    assert admin.post(f"/admin/segments/site/{site.pk}/change/", change).status_code == 302
    revoked = AuditEntry.objects.get(verb="revoked")
    changed = AuditEntry.objects.get(content_type__model="site")
    assert (revoked.actor, revoked.object_id) == (ada, key.pk)
    assert (changed.actor, changed.verb, changed.object_label) == (ada, "changed", "Shop EU")
    assert changed.detail.startswith("changed name") and changed.detail.endswith("in the admin")
