"""What the live campaign tests share: a published live campaign, people with a reachable
browser, and events sent through the JSON API then evaluated at once (the receiver's task,
run eagerly by calling its action). Not a test module."""

import base64
import itertools
import json
import uuid

from django.urls import reverse

from campaigns.actions import lifecycle
from campaigns.live.triggers import do_evaluate_events
from campaigns.models import Campaign, LiveTrigger, Variant
from delivery.models import Message
from segments.actions.keys import create_api_key
from segments.models import Device, Event, Profile, Segment, Site

ALL_STEPS = ["who", "when", "what", "setup"]
_numbers = itertools.count(1)


def live_campaign(kind=Campaign.Kind.SINGLE_ACTION, *, rules=None, variants=None, **fields):
    """A web push live campaign on "Added To Cart", published (running) through the
    lifecycle action; ``rules`` makes its segment, ``variants`` its messages (dicts of
    Variant fields; names A, B, C … by default)."""
    values = {
        "name": f"Live {next(_numbers)}",
        "channel": Campaign.Channel.WEB_PUSH,
        "kind": kind,
        "trigger_event": "Added To Cart",
        "steps_done": ALL_STEPS,
    }
    if kind == Campaign.Kind.INACTION:
        values |= {"inaction_event": "Charged", "inaction_minutes": 10}
    if kind == Campaign.Kind.DATE_PROPERTY:
        values |= {"trigger_event": "Booked", "date_property": "travel_date"}
    if rules is not None:
        values["segment"] = Segment.objects.create(name="Live audience", rules=rules, is_adhoc=True)
    campaign = Campaign.objects.create(**(values | fields))
    for position, extra in enumerate(variants or [{}]):
        name = chr(ord("A") + position)
        content = {"title": f"Hello from {name}", "body": "Your cart misses you"}
        Variant.objects.create(campaign=campaign, position=position, **({"name": name, "content": content} | extra))
    if campaign.channel == Campaign.Channel.EXIT_INTENT:
        campaign.sites.add(Site.objects.create(name="Shop", allowed_origins=["https://shop.example.com"]))
    return lifecycle.do_schedule(campaign, user=None)


def person(identity, *, devices=1, **fields):
    """A profile with ``devices`` allowed browsers subscribed to push."""
    profile = Profile.objects.create(identity=identity, **fields)
    for i in range(devices):
        Device.objects.create(
            profile=profile,
            platform=Device.Platform.WEB,
            endpoint=f"https://push.example/{identity}/{i}",
            push_status=Device.PushStatus.ALLOWED,
        )
    return profile


class EventsApi:
    """Events sent as an app's backend sends them: to /api/v1/events with an API key; each
    batch is then evaluated at once, as the task the receiver queues would evaluate it."""

    def __init__(self, client):
        self.client = client
        _, self.key = create_api_key("live tests", rate_per_minute=100_000)

    def post(self, records):
        before = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        response = self.client.post(
            "/api/v1/events",
            json.dumps({"events": records}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {self.key}"},
        )
        assert response.status_code == 200, response.content
        do_evaluate_events(list(Event.objects.filter(pk__gt=before).values_list("pk", flat=True)))
        return response

    def track(self, identity, name, *, at=None, **properties):
        """One event (``at``: its occurred_at) with ``properties``."""
        record = {"identity": identity, "name": name, "properties": properties}
        if at is not None:
            record["occurred_at"] = at.isoformat()
        return self.post([record])


class SdkBrowser:
    """A browser on a customer's site calling the web SDK's endpoints (/sdk/v1/): identified
    as ``identity`` (signed by the site's server, as a site that verifies identities does)
    and subscribed to push. ``track`` records an event as ``Clarion.track``
    does, then evaluates it at once."""

    ORIGIN = "https://shop.example.com"
    # A real-looking subscription: a P-256 point (0x04 then 64 bytes) and a 16-byte secret.
    KEYS = {
        "p256dh": base64.urlsafe_b64encode(b"\x04" + bytes(range(64))).rstrip(b"=").decode(),
        "auth": base64.urlsafe_b64encode(bytes(range(16))).rstrip(b"=").decode(),
    }

    def __init__(self, client, identity):
        self.client = client
        self.site = Site.objects.create(name="Shop", allowed_origins=[self.ORIGIN])
        self.client_id = str(uuid.uuid4())
        self.call("identify", identity=identity, identityHash=self.site.identity_hash(identity), browser="chrome")
        subscription = {"endpoint": f"https://fcm.googleapis.com/fcm/send/{identity}", "keys": self.KEYS}
        self.call("subscriptions", subscription=subscription)

    def call(self, endpoint, **fields):
        body = json.dumps({"siteKey": self.site.key, "clientId": self.client_id, **fields})
        response = self.client.post(
            reverse(f"sdk:{endpoint}"), body, content_type="text/plain", headers={"Origin": self.ORIGIN}
        )
        assert response.status_code == 200, response.content
        return response

    def track(self, name, **properties):
        before = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        self.call("events", name=name, properties=properties)
        do_evaluate_events(list(Event.objects.filter(pk__gt=before).values_list("pk", flat=True)))


def sent_to(campaign):
    """The identities the campaign's messages went to (queued for sending), in order."""
    rows = Message.objects.filter(dispatch__run__campaign=campaign).order_by("pk")
    return list(rows.values_list("profile__identity", flat=True))


def outcome(campaign, identity):
    """(status, reason) of the person's trigger rows for the campaign."""
    rows = LiveTrigger.objects.filter(campaign=campaign, profile__identity=identity).order_by("pk")
    return [(row.status, row.reason) for row in rows]
