"""What the pop-up tests share: a site, a running Web Exit Intent campaign on it, and a
visitor's browser asking ``/sdk/v1/popups`` and reporting what it did, as the SDK does."""

import json
import uuid
from datetime import UTC, datetime

from django.test import Client
from django.urls import reverse

from campaigns.models import Campaign, Variant
from segments.models import Site

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ORIGIN = "https://shop.example.com"
PAGE = f"{ORIGIN}/cart"
EVERY_PAGE = {"type": "page_count", "count": 1}


def make_site(name="Shop", origin=ORIGIN):
    return Site.objects.create(name=name, allowed_origins=[origin])


def make_popup(site, *, trigger=EVERY_PAGE, variants=({"title": "Wait!", "body": "10% off"},), **fields):
    """A running exit-intent campaign on ``site``; ``variants``: contents, or (content,
    {variant fields}) pairs."""
    campaign = Campaign.objects.create(
        name="Leaving?",
        channel=Campaign.Channel.EXIT_INTENT,
        kind=Campaign.Kind.SINGLE_ACTION,
        status=Campaign.Status.RUNNING,
        exit_trigger=trigger,
        **fields,
    )
    for position, variant in enumerate(variants):
        content, extra = variant if isinstance(variant, tuple) else (variant, {})
        Variant.objects.create(
            campaign=campaign, position=position, name=chr(ord("A") + position), content=content, **extra
        )
    campaign.sites.add(site)
    return campaign


class Browser:
    """One visitor's browser: its own client id (and Django test client)."""

    def __init__(self, site, client=None):
        self.site, self.client = site, client or Client()
        self.client_id = str(uuid.uuid4())

    def post(self, name, body, origin=ORIGIN):
        body = {"siteKey": self.site.key, "clientId": self.client_id, **body}
        return self.client.post(reverse(name), json.dumps(body), content_type="text/plain", headers={"Origin": origin})

    def ask(self, **fields):
        return self.post("sdk-popups", {"url": PAGE, "referrer": "", "pageCount": 1, **fields})

    def popups(self, **fields):
        response = self.ask(**fields)
        assert response.status_code == 200, response.content
        return response.json()["popups"]

    def report(self, message, event, **fields):
        return self.post("sdk-popups-report", {"message": message, "event": event, **fields})
