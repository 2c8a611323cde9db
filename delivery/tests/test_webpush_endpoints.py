"""At send time the Web Push provider contacts only push services: the endpoint is checked
again (rows saved before the SDK checked it), its name must resolve to public addresses
and the connection goes to the address checked, and redirects are never followed.

The listeners here are real HTTP servers on loopback that record every request, so a
test sees whether the worker reached them."""

import asyncio
import os
import socket

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec

from delivery.actions import sending
from delivery.addresses import networks
from delivery.models import Message
from delivery.providers.base import Outcome, Push
from delivery.providers.webpush import WebPushProvider
from delivery.providers.webpush.resolver import PublicAddressResolver, RefusedAddress
from delivery.tests.engine import started_dispatch, vapid_key
from segments.models import Device, Profile
from segments.pushhosts import DEFAULT_ALLOWED_HOSTS
from tests.pushservices.server import ThreadedService
from tests.pushservices.webpush import b64url, make_vapid_key

SUBJECT = "mailto:push@clarion.test"


class Listener(ThreadedService):
    """Answers every request with ``status`` (and ``headers``) and records its path."""

    name = "recording listener"

    def __init__(self, status=201, headers=None):
        self.status = status
        self.headers = headers or {}
        self.hits = []

    async def _any(self, request):
        await request.read()
        self.hits.append((request.method, request.path_qs))
        return web.Response(status=self.status, headers=self.headers)

    def routes(self, app):
        app.router.add_route("*", "/{tail:.*}", self._any)


@pytest.fixture
def listener():
    with Listener() as running:
        yield running


@pytest.fixture
def production_rules(settings):
    """As deployed: the default allow-list, without the test suite's loopback allowances."""
    settings.WEBPUSH_ALLOWED_HOSTS = list(DEFAULT_ALLOWED_HOSTS)
    settings.WEBPUSH_ALLOW_HTTP = False
    settings.WEBPUSH_ALLOWED_NETWORKS = []
    return settings


def subscription_keys():
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    raw = b"\x04" + point.x.to_bytes(32, "big") + point.y.to_bytes(32, "big")
    return b64url(raw), b64url(os.urandom(16))


def push(endpoint, device_id=1):
    p256dh, auth = subscription_keys()
    return Push(device_id=device_id, payload={"title": "Hi"}, endpoint=endpoint, p256dh=p256dh, auth=auth)


def send(*pushes):
    return WebPushProvider(make_vapid_key()[0], SUBJECT, read_timeout=5).send_many_sync(list(pushes))


# Old rows: endpoints saved before the SDK checked them


@pytest.mark.django_db
def test_an_old_row_pointing_inside_is_not_contacted_and_fails_that_message_only(listener, production_rules):
    vapid_key()
    inside = [
        f"http://127.0.0.1:{listener.origin.rsplit(':', 1)[1]}/internal?x=1",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/push",
        "http://fcm.googleapis.com/fcm/send/abc",
    ]
    devices = []
    for i, endpoint in enumerate(inside):
        profile = Profile.objects.create(identity=f"old-{i}")
        p256dh, auth = subscription_keys()
        devices.append(
            # Inserted directly, as a row saved before the SDK refused such endpoints.
            Device.objects.create(
                profile=profile, platform="web", endpoint=endpoint, p256dh=p256dh, auth=auth, push_status="allowed"
            )
        )
    dispatch = started_dispatch(devices, {"title": "Hello"})

    report = sending.send_batch(dispatch.pk)

    assert listener.hits == []
    assert (report.claimed, report.sent) == (4, 0)
    rows = Message.objects.filter(dispatch=dispatch)
    assert {(row.status, row.code) for row in rows} == {("failed", "end_point_invalid")}
    # No browser ever hands out such a URL: the devices are retired, not tried every run.
    assert all(device.retired_at for device in Device.objects.filter(pk__in=[d.pk for d in devices]))


def test_an_endpoint_off_the_list_fails_without_a_request_and_keeps_its_device(production_rules):
    [result] = send(push("https://push.example.com/sub/1"))

    assert (result.outcome, result.code, result.status) == (Outcome.FAILED, "end_point_invalid", None)
    # The list is our setting, not the subscription's fault: an Admin may add the host.
    assert not result.retire_device


def test_a_refused_endpoint_fails_alone_and_the_others_in_its_batch_are_sent(listener):
    refused = push("https://169.254.169.254/latest/meta-data/", device_id=1)
    allowed = push(f"{listener.origin}/push/s1", device_id=2)  # the tests' loopback network

    results = send(refused, allowed)

    assert [(r.device_id, r.outcome, r.code) for r in results] == [
        (1, Outcome.FAILED, "end_point_invalid"),
        (2, Outcome.SENT, ""),
    ]
    assert listener.hits == [("POST", "/push/s1")]


# Redirects


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_failure_and_is_not_followed(status):
    with Listener() as target, Listener(status, {"Location": "REPLACED"}) as service:
        service.headers["Location"] = f"{target.origin}/latest/meta-data/"

        [result] = send(push(f"{service.origin}/push/s1"))

        assert [method for method, _ in service.hits] == ["POST"]
        assert target.hits == []
        assert (result.outcome, result.code, result.status) == (Outcome.FAILED, "end_point_invalid", status)
        assert not result.retire_device


# Names that resolve inside


def resolve(host, allowed_networks=()):
    async def lookup():
        resolver = PublicAddressResolver(allowed_networks)
        try:
            return await resolver.resolve(host, 443, family=socket.AF_UNSPEC)
        finally:
            await resolver.close()

    return asyncio.run(lookup())


def test_a_name_that_resolves_to_loopback_is_refused_by_the_resolver():
    with pytest.raises(RefusedAddress, match=r"localhost resolves to .*, a loopback address"):
        resolve("localhost")


def test_the_resolver_returns_checked_addresses_for_the_tests_networks():
    found = resolve("localhost", networks(["127.0.0.0/8", "::1/128"]))
    assert found and {item["hostname"] for item in found} == {"localhost"}


def test_a_listed_name_resolving_to_a_private_address_is_not_contacted(listener, settings):
    port = listener.origin.rsplit(":", 1)[1]
    # The name is on the list and http is allowed; only the address check stands in the way.
    settings.WEBPUSH_ALLOWED_HOSTS = [f"localhost:{port}"]
    settings.WEBPUSH_ALLOWED_NETWORKS = []

    [result] = send(push(f"http://localhost:{port}/push/s1"))

    assert listener.hits == []
    assert (result.outcome, result.code, result.status) == (Outcome.FAILED, "end_point_invalid", None)
    assert not result.retire_device


def test_a_listed_name_is_reached_at_the_address_the_resolver_checked(listener, settings):
    port = listener.origin.rsplit(":", 1)[1]
    settings.WEBPUSH_ALLOWED_HOSTS = [f"localhost:{port}"]
    settings.WEBPUSH_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]

    [result] = send(push(f"http://localhost:{port}/push/s1"))

    assert result.outcome == Outcome.SENT
    assert listener.hits == [("POST", "/push/s1")]


def test_a_metadata_address_stays_refused_even_inside_an_allowed_network(settings):
    settings.WEBPUSH_ALLOWED_NETWORKS = ["169.254.0.0/16"]

    [result] = send(push("http://169.254.169.254/latest/meta-data/"))

    assert (result.code, result.retire_device) == ("end_point_invalid", True)


# The request line: an endpoint's path and query are sent as yarl reads them
@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/cXyZ:APA91bH-abc_DEF123",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk-Xy_z=",
        "https://web.push.apple.com/QGuQyavXutnMnI5kuS2jVjcC?x=1&y=%2B",
        "https://wns2-by3p.notify.windows.com/w/?token=BQYAAAB%2bQ%3d%3d&a=b",
        "https://fcm.googleapis.com/fcm/send/a b",  # a space: yarl encodes it
        "https://fcm.googleapis.com/fcm/send/x/../y",  # a dot segment: yarl removes it
        "https://fcm.googleapis.com/fcm/send/é",  # not ASCII: yarl encodes it
        "https://fcm.googleapis.com/fcm/send/%zz",  # a broken escape
        "https://fcm.googleapis.com/fcm/send/a%41b%2b%7E",  # escapes yarl decodes or upper-cases
        "https://fcm.googleapis.com/fcm/send/a;b=c:d@e!f$g&h'i(j)k*l+m,n?x=/?",
        "https://fcm.googleapis.com/fcm/send/x#fragment",  # never sent
        "https://fcm.googleapis.com",
        "https://fcm.googleapis.com?q=1",
        "https://FCM.googleapis.com:443/fcm/send/x",
    ],
)
def test_the_request_line_is_the_one_yarl_reads(production_rules, endpoint):
    from yarl import URL

    from delivery.providers.webpush.vapid import origin_of

    provider = WebPushProvider(make_vapid_key()[0], SUBJECT)
    provider._allowed_networks = networks(production_rules.WEBPUSH_ALLOWED_NETWORKS)  # as a new pool reads them
    for _ in range(2):  # the first push to an origin checks it; the second uses what it found
        connect, start, origin = provider._checked(endpoint)
        assert origin == origin_of(endpoint)
        url = URL(endpoint)
        assert connect == (url.scheme, url.raw_host, url.port)
        assert start == f"POST {url.raw_path_qs} HTTP/1.1\r\nHost: {url.host_port_subcomponent}\r\n".encode()
