"""One content, every platform: a run of a web push campaign for All devices sends one
message per device through the real pipeline, each built for its device's platform
(delivery/payloads.py) and received by the local Web Push, FCM and APNs services — the web
icon only where a browser shows it, the link, image and buttons everywhere."""

import json
from datetime import UTC, datetime

import pytest
import time_machine

from accounts import roles
from campaigns.actions import runs
from campaigns.models import Campaign, CampaignRun
from campaigns.tests.scheduled import make_campaign
from delivery.actions import sending
from delivery.models import DeliverySettings, Message
from delivery.tests.engine import vapid_key
from segments.models import Device, Profile
from tests.pushservices.apns import APNsService
from tests.pushservices.fcm import FcmService
from tests.pushservices.webpush import WebPushService

# transaction=True: the APNs provider token is shared through the cache from the send loop's
# own thread (as in delivery/tests/test_amplification_mobile.py).
pytestmark = pytest.mark.django_db(transaction=True)
NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
CONTENT = {
    "title": "Spring sale",
    "body": "New colours are in",
    "url": "https://shop.example/sale",
    "icon": "https://shop.example/icon.png",
    "image": "https://shop.example/colours.png",
    "buttons": [{"title": "Shop now", "url": "https://shop.example/shop"}],
    "browsers": "not_safari",
}


@pytest.fixture(scope="module")
def services():
    with WebPushService() as webpush, FcmService() as fcm, APNsService() as apns:
        yield webpush, fcm, apns


@pytest.fixture
def live(settings, services):
    """The real providers, in this process, pointed at the local services."""
    _, fcm, apns = services
    settings.PUSH_PROVIDERS = "live"
    settings.FCM_ENDPOINT = fcm.origin
    settings.APNS_HOST, settings.APNS_PORT, settings.APNS_CAFILE = apns.host, apns.port, apns.cafile
    delivery = DeliverySettings.load()
    delivery.fcm_service_account = json.dumps(fcm.add_service_account())
    delivery.apns_private_key, delivery.apns_key_id = apns.new_key()
    delivery.apns_team_id, delivery.apns_topic = apns.team_id, apns.topic
    delivery.save()
    vapid_key()
    return services


def test_a_run_for_all_devices_reaches_the_browser_the_android_phone_and_the_iphone(live, make_user):
    webpush, fcm, apns = live
    ada = Profile.objects.create(identity="ada")
    subscriber, android, iphone = webpush.subscribe(), fcm.register(), f"{4242:064x}"
    browser = Device.objects.create(
        profile=ada,
        platform="web",
        browser="chrome",
        endpoint=subscriber.endpoint,
        p256dh=subscriber.p256dh,
        auth=subscriber.auth,
        push_status="allowed",
    )
    Device.objects.create(profile=ada, platform="android", token=android, push_status="allowed")
    Device.objects.create(profile=ada, platform="ios", token=iphone, push_status="allowed")
    campaign = make_campaign(
        make_user(roles.MARKETER),
        variants=[{"content": CONTENT}],
        target_devices=Campaign.TargetDevices.ALL,
        platforms=["android", "ios"],
        status=Campaign.Status.SCHEDULED,
    )

    with time_machine.travel(NOW, tick=False):
        run = runs.do_start_run(CampaignRun.objects.create(campaign=campaign, planned_at=NOW).pk)
        sending.send_batch(run.dispatch_id)

    ids = dict(Message.objects.filter(dispatch=run.dispatch).values_list("device__platform", "pk"))
    assert set(Message.objects.filter(dispatch=run.dispatch).values_list("status", flat=True)) == {"sent"}
    [web] = webpush.payloads(subscriber)
    assert (web["title"], web["body"], web["icon"], web["image"]) == (
        "Spring sale",
        "New colours are in",
        "https://shop.example/icon.png",
        "https://shop.example/colours.png",
    )
    assert web["actions"] == [{"action": "button-1", "title": "Shop now", "url": "https://shop.example/shop"}]
    assert web["data"] == {"url": "https://shop.example/sale", "message_id": ids["web"]}

    [message] = fcm.messages(android)
    assert message["notification"] == {
        "title": "Spring sale",
        "body": "New colours are in",
        "image": "https://shop.example/colours.png",
    }
    assert "icon" not in json.dumps(message)  # a web icon: the app shows its own
    assert message["data"]["url"] == "https://shop.example/sale"
    assert message["data"]["message_id"] == str(ids["android"])
    assert json.loads(message["data"]["buttons"]) == CONTENT["buttons"]

    [payload] = apns.payloads(iphone)
    assert payload["aps"]["alert"] == {"title": "Spring sale", "body": "New colours are in"}
    assert (payload["url"], payload["message_id"]) == ("https://shop.example/sale", ids["ios"])
    assert payload["media_url"] == "https://shop.example/colours.png"
    assert payload["buttons"] == CONTENT["buttons"]
    assert browser.pk in Message.objects.filter(dispatch=run.dispatch).values_list("device_id", flat=True)
