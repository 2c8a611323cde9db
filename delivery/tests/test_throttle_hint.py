"""Settings → Delivery says what a throttle means for this audience: how long a run to every
device push can reach now would take, not a fixed example of 500,000 people."""

import pytest

from accounts.roles import ADMIN
from delivery.models import DeliverySettings
from segments.models import Device, Profile

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def admin(client_as):
    return client_as(ADMIN)


@pytest.fixture
def audience(db):
    """Five devices push can reach, and four it cannot."""
    for n in range(5):
        person = Profile.objects.create(identity=f"reach-{n}")
        Device.objects.create(profile=person, platform="web", endpoint=f"https://push.test/{n}", push_status="allowed")
    person = Profile.objects.create(identity="unreachable")
    Device.objects.create(profile=person, platform="web", endpoint="https://push.test/blocked", push_status="blocked")
    Device.objects.create(
        profile=person, platform="ios", token="t-gone", push_status="allowed", retired_at="2026-01-01T00:00Z"
    )
    Device.objects.create(profile=person, platform="android", token="", push_status="allowed")
    Device.objects.create(profile=person, platform="web", endpoint="", push_status="ask")


def hint(admin, typed):
    return admin.get("/settings/delivery/throttle-hint/", {"throttle_per_15_min": typed}, **HTMX).content.decode()


@pytest.mark.parametrize(
    ("typed", "takes"),
    [("100000", "15 minutes"), ("5", "15 minutes"), ("2", "45 minutes"), ("1", "1 hour 15 minutes")],
)
def test_the_hint_counts_the_devices_push_can_reach_now(admin, audience, typed, takes):
    assert f"per 15 min: a run to all 5 devices push can reach now takes {takes}." in hint(admin, typed)
    assert "500,000" not in hint(admin, typed)


def test_the_settings_page_shows_the_hint_for_the_saved_throttle(admin, audience):
    DeliverySettings.objects.create(pk=1, throttle_per_15_min=2)
    assert (
        "2 per 15 min: a run to all 5 devices push can reach now takes 45 minutes."
        in admin.get("/settings/").content.decode()
    )


def test_without_reachable_devices_it_says_the_hourly_rate(admin, db):
    assert "100,000 per 15 min (400,000 an hour). No device can receive push yet." in hint(admin, "100000")
