"""Which provider sends to a device, by mode and credentials."""

import json

import pytest
from django.test import override_settings

from delivery.models import DeliverySettings
from delivery.providers.apns import APNsProvider
from delivery.providers.fcm import FcmProvider
from delivery.providers.registry import Providers
from delivery.providers.sandbox import SandboxProvider
from delivery.providers.webpush import WebPushProvider
from delivery.tests.engine import vapid_key
from tests.pushservices.apns import APNsService
from tests.pushservices.fcm import FcmService

pytestmark = pytest.mark.django_db


@pytest.fixture
def credentials():
    settings = DeliverySettings.load()
    with FcmService() as fcm:
        settings.fcm_service_account = json.dumps(fcm.add_service_account())
    apns = APNsService()
    settings.apns_private_key, settings.apns_key_id = apns.new_key()
    settings.apns_team_id, settings.apns_topic = apns.team_id, apns.topic
    settings.save()
    return settings


def test_live_mode_without_credentials_has_no_provider():
    providers = Providers(DeliverySettings.load(), None, mode="live")

    assert [providers.for_platform(p) for p in ("web", "android", "ios")] == [None, None, None]


def test_live_mode_uses_each_channels_credentials_and_keeps_the_providers(credentials):
    key = vapid_key()
    providers = Providers(credentials, key, mode="live")

    assert isinstance(providers.for_platform("web"), WebPushProvider)
    assert isinstance(providers.for_platform("android"), FcmProvider)
    assert isinstance(providers.for_platform("ios"), APNsProvider)
    again = Providers(DeliverySettings.load(), key, mode="live")
    assert again.for_platform("web") is providers.for_platform("web")  # one VAPID header cache per process


def test_sandbox_mode_sends_web_push_nowhere_and_apps_for_real_once_credentials_are_set(credentials):
    bare = Providers(DeliverySettings(), vapid_key(), mode="sandbox")
    configured = Providers(credentials, vapid_key(), mode="sandbox")

    assert [type(bare.for_platform(p)) for p in ("web", "android", "ios")] == [SandboxProvider] * 3
    assert isinstance(configured.for_platform("web"), SandboxProvider)
    assert isinstance(configured.for_platform("android"), FcmProvider)
    assert isinstance(configured.for_platform("ios"), APNsProvider)


@override_settings(APNS_HOST="127.0.0.1", APNS_PORT=8443)
def test_the_apns_host_can_be_pointed_elsewhere(credentials):
    provider = Providers(credentials, None, mode="live").for_platform("ios")

    assert (provider.host, provider.port) == ("127.0.0.1", 8443)
