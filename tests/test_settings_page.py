"""Settings: API keys shown once, websites with their snippet, the VAPID key."""

import re

import pytest
from django.test import Client

from accounts.roles import ADMIN, MARKETER, VIEWER
from delivery.models import VapidKey
from segments.models import ApiKey, Site


@pytest.fixture
def admin(client_as):
    return client_as(ADMIN)


def test_a_new_api_key_is_shown_once_and_stored_hashed(admin):
    response = admin.post("/settings/api-keys/", {"name": "Backend", "rate_per_minute": 600})
    assert response.status_code == 200
    full_key = re.search(r'value="(clk_[^"]+)" aria-label="New API key"', response.content.decode()).group(1)
    key = ApiKey.objects.get()
    assert full_key.startswith(f"clk_{key.prefix}_")
    assert ApiKey.hash(full_key) == key.hashed_key
    assert full_key.encode() in response.content
    page = admin.get("/settings/")
    assert full_key.encode() not in page.content
    assert f"clk_{key.prefix}_…".encode() in page.content


def test_a_key_needs_a_name(admin):
    response = admin.post("/settings/api-keys/", {"name": "", "rate_per_minute": 600})
    assert response.status_code == 422
    assert b"This field is required" in response.content
    assert not ApiKey.objects.exists()


def test_revoking_a_key_marks_it(admin):
    admin.post("/settings/api-keys/", {"name": "Backend", "rate_per_minute": 600})
    key = ApiKey.objects.get()
    response = admin.post(f"/settings/api-keys/{key.pk}/revoke/")
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert b"revoked" in response.content


def test_a_website_gets_a_key_and_a_snippet_with_the_vapid_key(admin):
    admin.post("/settings/vapid/")
    response = admin.post(
        "/settings/sites/", {"name": "Shop", "origins": "https://shop.example.com/\nhttp://localhost:3000"}
    )
    site = Site.objects.get()
    assert site.allowed_origins == ["https://shop.example.com", "http://localhost:3000"]
    content = response.content.decode()
    assert f'siteKey: "{site.key}"' in content
    assert f'vapidPublicKey: "{VapidKey.objects.get().public_key}"' in content
    assert VapidKey.objects.get().private_key not in admin.get("/settings/").content.decode()


@pytest.mark.parametrize(
    ("origins", "message"),
    [
        ("http://shop.example.com", "web push needs https"),
        ("shop.example.com", "is not an origin"),
        ("https://shop.example.com/path", "is not an origin"),
        ("", "This field is required"),
    ],
)
def test_a_bad_origin_is_refused_next_to_the_field(admin, origins, message):
    response = admin.post("/settings/sites/", {"name": "Shop", "origins": origins})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Site.objects.exists()


def test_generating_the_vapid_key_twice_keeps_the_first(admin):
    admin.post("/settings/vapid/")
    first = VapidKey.objects.get().public_key
    admin.post("/settings/vapid/")
    assert list(VapidKey.objects.values_list("public_key", flat=True)) == [first]


@pytest.mark.parametrize(
    "url",
    [
        "/settings/api-keys/",
        "/settings/sites/",
        "/settings/vapid/",
        "/settings/api-keys/1/revoke/",
        "/settings/sites/1/verify/",
    ],
)
def test_marketers_cannot_change_settings(client_as, url):
    assert client_as(MARKETER).post(url, {"name": "x", "rate_per_minute": 1}).status_code == 403
    assert not ApiKey.objects.exists()


def test_the_vapid_keys_command_makes_one_pair(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("vapid_keys", stdout=out)
    call_command("vapid_keys", stdout=out)
    key = VapidKey.objects.get()
    assert out.getvalue().count(key.public_key) == 2
    assert key.private_key not in out.getvalue()
    call_command("vapid_keys", "--rotate", stdout=out)
    assert VapidKey.objects.filter(active=True).count() == 1
    assert VapidKey.objects.count() == 2


# What turning identity verification off allows, as the Settings page says it.
OFF_WARNING = "anyone can call identify() with the public site key and an identity nobody has yet"


def test_a_new_website_verifies_identities_and_offers_to_turn_it_off_with_the_warning(admin):
    response = admin.post("/settings/sites/", {"name": "Shop", "origins": "https://shop.example.com"})
    assert Site.objects.get().verify_identity
    page = response.content.decode()
    assert "Identities verified" in page
    assert OFF_WARNING in page
    assert "Turn verification off for Shop" in page


def test_an_admin_turns_identity_verification_off_explicitly_and_sees_the_warning(admin):
    site = Site.objects.create(name="Shop")
    # A post that does not say "off" (an unticked checkbox sent nothing) changes nothing.
    assert admin.post(f"/settings/sites/{site.pk}/verify/", {}).status_code == 400
    site.refresh_from_db()
    assert site.verify_identity
    response = admin.post(f"/settings/sites/{site.pk}/verify/", {"verify": "off"})
    site.refresh_from_db()
    assert not site.verify_identity
    assert "Identity verification is off" in response.content.decode()
    assert OFF_WARNING in response.content.decode()
    response = admin.post(f"/settings/sites/{site.pk}/verify/", {"verify": "on"})
    site.refresh_from_db()
    assert site.verify_identity
    assert site.identity_secret in response.content.decode()


@pytest.mark.parametrize("role", [MARKETER, VIEWER])
def test_only_an_admin_may_turn_identity_verification_off(client_as, role):
    site = Site.objects.create(name="Shop")
    assert client_as(role).post(f"/settings/sites/{site.pk}/verify/", {"verify": "off"}).status_code == 403
    site.refresh_from_db()
    assert site.verify_identity


def test_turning_identity_verification_off_needs_the_csrf_token(make_user):
    site = Site.objects.create(name="Shop")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_user(ADMIN))
    assert strict.post(f"/settings/sites/{site.pk}/verify/", {"verify": "off"}).status_code == 403
    site.refresh_from_db()
    assert site.verify_identity


def test_the_django_admin_does_not_turn_identity_verification_off(admin):
    site = Site.objects.create(name="Shop")
    response = admin.post(f"/admin/segments/site/{site.pk}/change/", {"name": "Shop 2", "allowed_origins": "[]"})
    assert response.status_code == 302  # saved, without the field
    site.refresh_from_db()
    assert (site.name, site.verify_identity) == ("Shop 2", True)
