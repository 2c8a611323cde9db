"""seed_demo's audience (segments/demo.py): realistic people, every device kind, events."""

from datetime import UTC, datetime, timedelta
from io import StringIO
from zoneinfo import available_timezones

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection

from segments.actions.properties import forget_cache
from segments.models import Device, Event, Profile, PropertyDefinition
from segments.schemas import EventIn, ProfileIn

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def seed(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path  # the demo logins keep their password here
    forget_cache()

    def run(profiles):
        out = StringIO()
        with time_machine.travel(NOW, tick=False):
            call_command("seed_demo", profiles=profiles, stdout=out)
        return out.getvalue()

    return run


def test_it_creates_the_profiles_asked_for_with_devices_and_events(seed):
    output = seed(50)
    demo = Profile.objects.filter(identity__startswith="demo-")
    assert demo.count() == 50
    assert sorted(demo.values_list("identity", flat=True))[:2] == ["demo-0000001", "demo-0000002"]
    assert "50 profiles added" in output
    assert Device.objects.filter(profile__in=demo).count() >= 50
    assert 15 * 50 <= Event.objects.filter(profile__in=demo).count() <= 25 * 50


def test_devices_cover_every_platform_browser_and_push_status(seed):
    seed(50)
    devices = Device.objects.all()
    assert set(devices.values_list("platform", flat=True)) == set(Device.Platform.values)
    web = devices.filter(platform=Device.Platform.WEB)
    assert set(web.values_list("browser", flat=True)) == set(Device.Browser.values)
    assert set(devices.values_list("push_status", flat=True)) == set(Device.PushStatus.values)


def test_allowed_devices_have_addresses_of_their_push_service(seed):
    seed(50)
    allowed = Device.objects.filter(push_status=Device.PushStatus.ALLOWED, retired_at=None)
    for device in allowed.filter(platform=Device.Platform.WEB):
        assert device.endpoint.startswith("https://") and device.p256dh and device.auth
    chrome = allowed.filter(browser="chrome").first()
    assert chrome.endpoint.startswith("https://fcm.googleapis.com/fcm/send/")
    for device in allowed.filter(platform=Device.Platform.IOS):
        assert len(device.token) == 64 and int(device.token, 16) >= 0
        assert device.make == "Apple" and device.model and device.os_version and device.app_version
    for device in allowed.filter(platform=Device.Platform.ANDROID):
        assert ":APA91b" in device.token and device.sdk_version
    assert all(d.reachable for d in allowed)


def test_profiles_pass_the_api_validation_and_live_in_real_places(seed):
    seed(50)
    zones = available_timezones()
    for profile in Profile.objects.all():
        fields = {f: getattr(profile, f) for f in ProfileIn.model_fields if f != "properties"}
        ProfileIn(**fields, properties=profile.properties)  # raises on anything a client could not send
        assert profile.name and profile.email.endswith(("example.com", "example.org", "example.net"))
        assert profile.country and profile.city and profile.timezone in zones
        assert -90 <= profile.latitude <= 90 and -180 <= profile.longitude <= 180
        assert profile.properties["customer_type"] in {"Silver", "Gold", "Platinum"}
    assert Profile.objects.filter(is_test=True).count() == 5
    for profile in Profile.objects.filter(is_test=True):
        reachable = {d.platform for d in profile.devices.all() if d.reachable}
        assert reachable == set(Device.Platform.values)


def test_events_fall_in_the_last_90_days_and_pass_the_api_validation(seed):
    seed(20)
    events = Event.objects.all()
    assert {"App Launched", "Product Viewed", "Added To Cart", "Charged"} <= set(events.values_list("name", flat=True))
    for event in events:
        assert NOW - timedelta(days=90) <= event.occurred_at <= NOW
        EventIn(identity="x", name=event.name, properties=event.properties, occurred_at=event.occurred_at)
    charged = events.filter(name="Charged").first()
    assert charged.properties["amount"] > 0 and charged.properties["currency"] == "USD"
    for profile in Profile.objects.all():
        latest = profile.events.order_by("-occurred_at").first()
        assert profile.last_seen_at == latest.occurred_at


def test_seeding_twice_adds_nothing_and_a_larger_number_adds_the_rest(seed):
    seed(30)
    counts = (Profile.objects.count(), Device.objects.count(), Event.objects.count())
    output = seed(30)
    assert (Profile.objects.count(), Device.objects.count(), Event.objects.count()) == counts
    assert "0 profiles added, 30 already there" in output
    seed(40)
    assert Profile.objects.filter(identity__startswith="demo-").count() == 40


def test_the_same_identity_always_gets_the_same_person(seed):
    seed(12)
    first = list(Profile.objects.order_by("identity").values_list("identity", "name", "email", "city", "properties"))
    tokens = set(Device.objects.exclude(token="").values_list("token", flat=True))
    Profile.objects.all().delete()
    seed(12)
    again = list(Profile.objects.order_by("identity").values_list("identity", "name", "email", "city", "properties"))
    assert again == first
    assert set(Device.objects.exclude(token="").values_list("token", flat=True)) == tokens


def test_seeding_fills_the_property_registry(seed):
    seed(20)
    registry = set(PropertyDefinition.objects.values_list("scope", "event_name", "name", "type"))
    profile, event = PropertyDefinition.Scope.PROFILE, PropertyDefinition.Scope.EVENT
    assert {
        (profile, "", "customer_type", "string"),
        (profile, "", "lifetime_value", "number"),
        (profile, "", "signup_date", "date"),
        (profile, "", "newsletter", "boolean"),
        (profile, "", "interests", "list"),
        (event, "Charged", "amount", "number"),
        (event, "Charged", "currency", "string"),
        (event, "Product Viewed", "category", "string"),
        (event, "Added To Cart", "quantity", "number"),
    } <= registry
    registered = {(scope, event_name, name) for scope, event_name, name, _ in registry}
    for e in Event.objects.all():
        assert {(event, e.name, name) for name in e.properties} <= registered
    for p in Profile.objects.all():
        assert {(profile, "", name) for name in p.properties} <= registered


def test_a_negative_number_of_profiles_is_refused(seed):
    with pytest.raises(CommandError, match="--profiles"):
        seed(-1)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner statistics")
def test_the_planner_knows_the_audience_it_wrote_before_the_seed_commits(seed):
    # The seed is one transaction that autovacuum cannot see into; the demo campaigns'
    # queries after the load need the tables' statistics (a million profiles planned as
    # none took tens of minutes).
    seed(60)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname IN"
            " ('segments_profile', 'segments_device', 'segments_event')"
        )
        estimated = dict(cursor.fetchall())
    assert estimated["segments_profile"] == Profile.objects.count()
    assert estimated["segments_device"] == Device.objects.count()
    assert estimated["segments_event"] == Event.objects.count()
