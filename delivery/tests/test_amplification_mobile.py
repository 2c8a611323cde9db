"""Push amplification for apps: an FCM or APNs push no app reported displayed is sent once
more with the same collapse key (the local FCM and APNs services receive both), one the app
reported rendered through POST /api/v1/engagement is not, and the amplified count says so."""

import datetime as dt
import json

import pytest
import time_machine
from django.db.models import Q

from delivery import counts
from delivery.actions import sending
from delivery.actions.amplification import do_amplify
from delivery.models import DeliverySettings, Message
from delivery.tests.engine import app_audience, started_dispatch
from segments.actions.keys import create_api_key
from segments.models import Device
from tests.pushservices.apns import APNsService
from tests.pushservices.fcm import FcmService

# transaction=True: the APNs provider token is shared through the cache from the send loop's own thread;
# in the embedded mode that cache is the database, which a test held in one transaction would lock.
pytestmark = pytest.mark.django_db(transaction=True)
SENT_AT = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def fcm():
    with FcmService() as running:
        yield running


@pytest.fixture(scope="module")
def apns():
    with APNsService() as running:
        yield running


@pytest.fixture
def live(settings, fcm, apns):
    """The real providers, in this process, pointed at the local services, and the toggle on."""
    settings.PUSH_PROVIDERS = "live"
    settings.FCM_ENDPOINT = fcm.origin
    settings.APNS_HOST, settings.APNS_PORT, settings.APNS_CAFILE = apns.host, apns.port, apns.cafile
    delivery = DeliverySettings.load()
    delivery.amplification = True
    delivery.fcm_service_account = json.dumps(fcm.add_service_account())
    delivery.apns_private_key, delivery.apns_key_id = apns.new_key()
    delivery.apns_team_id, delivery.apns_topic = apns.team_id, apns.topic
    delivery.save()


@pytest.fixture
def report(client):
    _, key = create_api_key("app", rate_per_minute=1_000_000)

    def call(message, kind):
        body = {"reports": [{"message_id": message.pk, "kind": kind}]}
        headers = {"Authorization": f"Bearer {key}"}
        response = client.post("/api/v1/engagement", body, content_type="application/json", headers=headers)
        assert response.status_code == 200, response.content
        assert response.json()["recorded"] == 1

    return call


def sent_to(devices):
    with time_machine.travel(SENT_AT, tick=False):
        dispatch = started_dispatch(devices, {"title": "Your order shipped", "body": "Track it"}, channel="mobile_push")
        sending.send_batch(dispatch.pk)
    rows = {row.device_id: row for row in Message.objects.filter(dispatch=dispatch)}
    assert {row.status for row in rows.values()} == {"sent"}
    return dispatch, [rows[device.pk] for device in devices]


def amplify_at(minutes_after_send):
    with time_machine.travel(SENT_AT + dt.timedelta(minutes=minutes_after_send), tick=False):
        return do_amplify()


def test_an_unreported_fcm_push_is_sent_again_with_the_same_collapse_key(live, fcm, report):
    quiet, shown = fcm.register(), fcm.register()
    dispatch, [pending, rendered] = sent_to(app_audience(Device.Platform.ANDROID, [quiet, shown]))
    report(rendered, "rendered")

    assert amplify_at(59) == 0
    assert amplify_at(61) == 1
    assert amplify_at(120) == 0  # once

    first, again = fcm.messages(quiet)
    assert again == first  # the same android.collapse_key, message id and text
    assert again["android"]["collapse_key"] == f"{dispatch.pk}-{pending.device_id}"
    assert again["data"]["message_id"] == str(pending.pk)
    assert len(fcm.messages(shown)) == 1
    assert counts.amplified(Q(dispatch=dispatch)) == 1


def test_an_unreported_apns_push_is_sent_again_with_the_same_collapse_id(live, apns, report):
    quiet, shown, clicked = (f"{n:064x}" for n in (9001, 9002, 9003))
    dispatch, [pending, rendered, opened] = sent_to(app_audience(Device.Platform.IOS, [quiet, shown, clicked]))
    report(rendered, "rendered")
    report(opened, "clicked")

    assert amplify_at(90) == 1

    first, again = apns.received[quiet]
    assert again.headers["apns-collapse-id"] == first.headers["apns-collapse-id"]
    assert again.headers["apns-collapse-id"] == f"{dispatch.pk}-{pending.device_id}"
    assert again.payload == first.payload
    assert len(apns.received[shown]) == len(apns.received[clicked]) == 1
    assert counts.amplified(Q(dispatch=dispatch)) == 1


def test_nothing_is_sent_again_while_the_toggle_is_off(live, fcm):
    DeliverySettings.objects.filter(pk=1).update(amplification=False)
    token = fcm.register()
    dispatch, _ = sent_to(app_audience(Device.Platform.ANDROID, [token]))

    assert amplify_at(90) == 0
    assert len(fcm.messages(token)) == 1
    assert counts.amplified(Q(dispatch=dispatch)) == 0
