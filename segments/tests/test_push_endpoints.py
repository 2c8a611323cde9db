"""Which push endpoints a browser may hand over (segments/pushhosts.py): only https URLs of
the push services on WEBPUSH_ALLOWED_HOSTS, so the worker never posts where a stranger says."""

import base64
import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from segments.models import Device, Site
from segments.pushhosts import DEFAULT_ALLOWED_HOSTS, Endpoint, EndpointRefused, allowed_hosts, check_endpoint

ORIGIN = "https://shop.example.com"
CLIENT = "c0ffee00-1111-4222-8333-444455556666"
P256DH = base64.urlsafe_b64encode(b"\x04" + bytes(range(64))).rstrip(b"=").decode()
AUTH = base64.urlsafe_b64encode(bytes(range(16))).rstrip(b"=").decode()


@pytest.fixture(autouse=True)
def production_rules(settings):
    """As deployed: the default allow-list, without the test suite's loopback allowances."""
    settings.WEBPUSH_ALLOWED_HOSTS = list(DEFAULT_ALLOWED_HOSTS)
    settings.WEBPUSH_ALLOW_HTTP = False
    settings.WEBPUSH_ALLOWED_NETWORKS = []


@pytest.fixture
def subscribe(client, db):
    site = Site.objects.create(name="Shop", allowed_origins=[ORIGIN])

    def call(endpoint):
        body = {
            "siteKey": site.key,
            "clientId": CLIENT,
            "subscription": {"endpoint": endpoint, "expirationTime": None, "keys": {"p256dh": P256DH, "auth": AUTH}},
        }
        return client.post(
            reverse("sdk:subscriptions"), json.dumps(body), content_type="text/plain", headers={"Origin": ORIGIN}
        )

    return call


@pytest.mark.parametrize(
    ("endpoint", "reason"),
    [
        ("http://127.0.0.1:18999/internal?x=1", "must be an https URL"),
        ("https://169.254.169.254/latest/meta-data/", "must name a push service's host, not an address"),
        ("https://[::1]/push", "must name a push service's host, not an address"),
        ("http://fcm.googleapis.com/fcm/send/abc123", "must be an https URL"),
    ],
)
def test_the_sdk_refuses_an_endpoint_outside_the_push_services_naming_the_field(subscribe, endpoint, reason):
    response = subscribe(endpoint)

    assert response.status_code == 400
    errors = {e["field"]: e["reason"] for e in response.json()["errors"]}
    assert list(errors) == ["subscription.endpoint"]
    assert reason in errors["subscription.endpoint"]
    assert not Device.objects.filter(endpoint=endpoint).exists()


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/dGVzdA:APA91bHb",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk",
        "https://web.push.apple.com/QGx1c3RyZQ",
        "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAD",
        "https://push.kaiostech.com:8443/wpush/v2/gAAAAABf4Qz",
    ],
)
def test_the_sdk_stores_an_endpoint_of_a_listed_push_service(subscribe, endpoint):
    response = subscribe(endpoint)

    assert response.status_code == 200, response.json()
    assert Device.objects.get(client_id=CLIENT).endpoint == endpoint


def test_a_host_off_the_list_is_named_in_the_reason(subscribe):
    response = subscribe("https://push.example.com/sub/1")

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "subscription.endpoint"
    assert "push.example.com is not a push service Clarion sends to" in error["reason"]


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com.evil.example/fcm/send/x",  # the listed name as a prefix
        "https://evilfcm.googleapis.com/fcm/send/x",  # not below the name: another name
        "https://push.apple.com/x",  # *.push.apple.com covers names below it, not itself
        "https://fcm.googleapis.com:8443/fcm/send/x",  # another port than the entry's
        "https://push.kaiostech.com/wpush/v2/x",  # KaiOS's entry names port 8443
        "https://user:secret@fcm.googleapis.com/fcm/send/x",
        "https://@fcm.googleapis.com/fcm/send/x",
        "https://fcm.googleapis.com:0/fcm/send/x",
        "https://fcm.googleapis.com:99999/fcm/send/x",
        "https://fcm.googleapis.com./fcm/send/x",  # a trailing dot is another spelling: refused
        "https://fcm_googleapis.com/x",
        "https://2130706433/x",  # 127.0.0.1 as one number
        "https://127.1/x",  # and shortened
        "ftp://fcm.googleapis.com/x",
        "https:///x",
    ],
)
def test_look_alikes_other_ports_and_user_names_are_refused(endpoint):
    with pytest.raises(EndpointRefused):
        check_endpoint(endpoint)


def test_an_explicit_https_port_and_upper_case_are_the_same_host():
    assert check_endpoint("https://FCM.googleapis.com:443/fcm/send/x") == Endpoint("https", "fcm.googleapis.com", 443)


def test_the_tests_loopback_service_passes_only_with_both_allowances(settings):
    local = "http://127.0.0.1:8089/push/s1"
    with pytest.raises(EndpointRefused):
        check_endpoint(local)
    settings.WEBPUSH_ALLOW_HTTP = True
    with pytest.raises(EndpointRefused):
        check_endpoint(local)
    settings.WEBPUSH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert check_endpoint(local) == Endpoint("http", "127.0.0.1", 8089, address=True)


def test_a_list_entry_that_is_not_a_host_stops_start_up_naming_the_setting():
    assert allowed_hosts(["fcm.googleapis.com", "*.push.apple.com", "push.kaiostech.com:8443"])
    for bad in ["https://fcm.googleapis.com", "fcm.googleapis.com/fcm", "*", "push.kaiostech.com:port"]:
        with pytest.raises(ImproperlyConfigured, match="WEBPUSH_ALLOWED_HOSTS"):
            allowed_hosts([bad])
