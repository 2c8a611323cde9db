"""What the pipeline puts in a message: variants, Linked Content per profile, and a resend
(push amplification) that carries the same collapse key."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from delivery.actions import sending
from delivery.models import Message
from delivery.tests.engine import started_dispatch, vapid_key, web_audience
from segments.models import Profile
from tests.pushservices.webpush import WebPushService

pytestmark = pytest.mark.django_db

PRICES = {"shoes": {"price": "89.95"}, "socks": {"price": "4.50"}}


class Prices(BaseHTTPRequestHandler):
    requests = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        Prices.requests.append(self.path)
        item = self.path.rsplit("/", 1)[-1]
        found = item in PRICES
        body = json.dumps(PRICES[item] if found else {"error": "no such item"}).encode()
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def prices():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Prices)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def local_linked(settings):
    settings.LINKED_CONTENT_ALLOW_HTTP = True
    settings.LINKED_CONTENT_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def service():
    with WebPushService() as running:
        yield running


@pytest.fixture
def key(db):
    return vapid_key()


def test_linked_content_is_fetched_per_url_and_used_in_liquid(service, key, prices, local_linked):
    audience = web_audience(service, 4)
    wants = ["shoes", "socks", "shoes", "hats"]
    for (device, _), item in zip(audience, wants, strict=True):
        Profile.objects.filter(pk=device.profile_id).update(properties={"item": item})
    content = {
        "title": "{{ profile.item }} now {{ linked.price.price }}",
        "linked": [{"name": "price", "url": prices + "/items/{{ profile.item }}"}],
    }
    Prices.requests.clear()
    dispatch = started_dispatch([d for d, _ in audience], content)

    sending.send_batch(dispatch.pk)

    titles = [[p["title"] for p in service.payloads(s)] for _, s in audience]
    assert titles == [["shoes now 89.95"], ["socks now 4.50"], ["shoes now 89.95"], []]
    hats = Message.objects.get(dispatch=dispatch, device=audience[3][0])
    assert (hats.status, hats.code) == ("failed", "linked_content_failed")
    assert sorted(Prices.requests) == ["/items/hats", "/items/shoes", "/items/socks"]  # once per URL


def test_each_variant_gets_its_own_content(service, key):
    audience = web_audience(service, 2)
    dispatch = started_dispatch([audience[0][0]], {"title": "A"})
    dispatch.contents = {"A": {"title": "A"}, "B": {"title": "B"}}
    dispatch.save()
    Message.objects.create(dispatch=dispatch, profile_id=audience[1][0].profile_id, device=audience[1][0], variant="B")

    sending.send_batch(dispatch.pk)

    assert [service.payloads(s)[0]["title"] for _, s in audience] == ["A", "B"]


def test_a_resend_carries_the_same_topic_and_tag_and_leaves_the_row_as_it_was(service, key):
    [(device, subscriber), (gone, gone_sub)] = web_audience(service, 2)
    dispatch = started_dispatch([device, gone], {"title": "Hi {{ profile.first_name }}"})
    sending.send_batch(dispatch.pk)
    rows = {row.device_id: row for row in Message.objects.filter(dispatch=dispatch)}
    service.answer(gone_sub, 410)

    accepted = sending.resend([rows[device.pk].pk, rows[gone.pk].pk])

    assert accepted == 1
    first, again = service.received[subscriber.id]
    assert again.headers["Topic"] == first.headers["Topic"]
    assert again.payload == first.payload  # the same tag, message id and text
    after = Message.objects.get(pk=rows[device.pk].pk)
    assert (after.status, after.attempts, after.sent_at) == ("sent", 1, rows[device.pk].sent_at)
    gone.refresh_from_db()
    assert gone.retired_at is not None
