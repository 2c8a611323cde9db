"""The trigger event's properties in a live campaign's Liquid (``{{ event.product }}``): sent
through the delivery pipeline to the local Web Push service, at once for a single action and
when an inaction window ends."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from campaigns.live.sending import do_send_due
from campaigns.models import Campaign, CampaignRun
from campaigns.tests.live import EventsApi, live_campaign
from delivery.actions.sending import send_batch
from delivery.tests.engine import vapid_key, web_audience
from segments.models import Profile
from tests.pushservices.webpush import WebPushService

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TITLE = {"title": "{{ event.product }} is still in your cart", "body": "{{ profile.first_name }}, come back"}


@pytest.fixture
def api(client):
    return EventsApi(client)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def service():
    with WebPushService() as running:
        yield running


@pytest.fixture
def shoppers(service):
    """Ada and Bob, each with a browser subscribed at the local Web Push service."""
    vapid_key()
    audience = web_audience(service, 2, name="Ada Lovelace")
    for (device, _), identity in zip(audience, ["ada", "bob"], strict=True):
        Profile.objects.filter(pk=device.profile_id).update(identity=identity)
    return [subscriber for _, subscriber in audience]


def send_runs(campaign):
    for run in CampaignRun.objects.filter(campaign=campaign, dispatch__isnull=False):
        send_batch(run.dispatch_id)


def titles(service, subscriber):
    return [payload["title"] for payload in service.payloads(subscriber)]


def test_a_single_action_campaign_sends_each_person_the_product_of_their_own_event(api, service, shoppers):
    campaign = live_campaign(variants=[{"content": TITLE}])
    ada, bob = shoppers

    api.post(
        [
            {"identity": "ada", "name": "Added To Cart", "properties": {"product": "Red shoes"}},
            {"identity": "bob", "name": "Added To Cart", "properties": {"product": "Blue hat"}},
        ]
    )
    send_runs(campaign)

    assert titles(service, ada) == ["Red shoes is still in your cart"]
    assert titles(service, bob) == ["Blue hat is still in your cart"]
    assert [p["body"] for p in service.payloads(ada)] == ["Ada, come back"]


def test_an_inaction_window_sends_the_product_of_the_event_that_opened_it(api, service, shoppers, clock):
    campaign = live_campaign(Campaign.Kind.INACTION, variants=[{"content": TITLE}])
    ada, bob = shoppers
    api.track("ada", "Added To Cart", product="Red shoes")
    api.track("bob", "Added To Cart", product="Blue hat")
    api.track("bob", "Charged")

    clock.shift(timedelta(minutes=10))
    do_send_due()
    send_runs(campaign)

    assert titles(service, ada) == ["Red shoes is still in your cart"]
    assert titles(service, bob) == []  # he bought it within the window
