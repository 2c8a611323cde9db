"""A message's own Liquid variables (``Message.context``, e.g. a live campaign's trigger
event): accepted by ``do_enqueue`` beside the older row forms, rendered as ``event``, and
never shown in another message of the same person and variant."""

import pytest

from delivery.actions import sending
from delivery.actions.dispatches import do_create_dispatch, do_enqueue, do_start
from delivery.models import Message
from delivery.tests.engine import vapid_key, web_audience
from segments.models import Device
from tests.pushservices.webpush import WebPushService

pytestmark = pytest.mark.django_db


@pytest.fixture
def service():
    with WebPushService() as running:
        yield running


@pytest.fixture
def key(db):
    return vapid_key()


def dispatch_of(content):
    return do_create_dispatch(channel="web_push", label="context test", contents={"A": content})


def second_browser(service, device):
    subscriber = service.subscribe()
    found = Device.objects.create(
        profile_id=device.profile_id,
        platform=Device.Platform.WEB,
        browser="firefox",
        endpoint=subscriber.endpoint,
        p256dh=subscriber.p256dh,
        auth=subscriber.auth,
        push_status=Device.PushStatus.ALLOWED,
    )
    return found, subscriber


def test_rows_of_three_four_and_five_items_are_all_enqueued(service, key):
    audience = web_audience(service, 3)
    (one, _), (two, _), (three, _) = audience
    dispatch = dispatch_of({"title": "Hi"})

    added = do_enqueue(
        dispatch,
        [
            (one.profile_id, one.pk, "A"),
            (two.profile_id, two.pk, "A", None),
            (three.profile_id, three.pk, "A", None, {"event": {"product": "Shoes"}}),
        ],
    )

    assert added == 3
    contexts = dict(Message.objects.filter(dispatch=dispatch).values_list("device_id", "context"))
    assert contexts == {one.pk: None, two.pk: None, three.pk: {"event": {"product": "Shoes"}}}


def test_the_event_in_a_messages_context_is_rendered_in_its_title(service, key):
    (device, subscriber), (other, other_subscriber) = web_audience(service, 2, name="Ada Lovelace")
    dispatch = dispatch_of({"title": "{{ profile.first_name }}, {{ event.product }} is waiting", "body": "Come back"})
    do_enqueue(
        dispatch,
        [
            (device.profile_id, device.pk, "A", None, {"event": {"product": "Red shoes"}}),
            (other.profile_id, other.pk, "A", None, {"event": {"product": "Blue hat"}}),
        ],
    )
    do_start(dispatch)

    sending.send_batch(dispatch.pk)

    assert [p["title"] for p in service.payloads(subscriber)] == ["Ada, Red shoes is waiting"]
    assert [p["title"] for p in service.payloads(other_subscriber)] == ["Ada, Blue hat is waiting"]


def test_one_persons_two_messages_with_different_events_each_show_their_own(service, key):
    """The Renderer caches per profile and variant; the event must be part of that key."""
    (device, subscriber), *_ = web_audience(service, 1)
    firefox, firefox_subscriber = second_browser(service, device)
    dispatch = dispatch_of({"title": "{{ event.product | default: 'Your cart' }}"})
    do_enqueue(
        dispatch,
        [
            (device.profile_id, device.pk, "A", None, {"event": {"product": "Red shoes"}}),
            (firefox.profile_id, firefox.pk, "A"),
        ],
    )
    do_start(dispatch)

    sending.send_batch(dispatch.pk)

    assert [p["title"] for p in service.payloads(subscriber)] == ["Red shoes"]
    assert [p["title"] for p in service.payloads(firefox_subscriber)] == ["Your cart"]


def test_a_message_context_cannot_replace_the_profile(service, key):
    (device, subscriber), *_ = web_audience(service, 1, name="Ada Lovelace")
    dispatch = dispatch_of({"title": "{{ profile.first_name }}"})
    do_enqueue(dispatch, [(device.profile_id, device.pk, "A", None, {"profile": {"first_name": "Mallory"}})])
    do_start(dispatch)

    sending.send_batch(dispatch.pk)

    assert [p["title"] for p in service.payloads(subscriber)] == ["Ada"]
