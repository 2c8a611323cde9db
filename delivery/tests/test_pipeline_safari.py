"""The pipeline's guard for "All browsers but Safari": a Safari device's message of such
content is dropped (``safari_excluded``) even when a caller enqueued it; other browsers, and
Safari for content that includes it, are sent."""

import pytest

from delivery.actions import sending
from delivery.actions.dispatches import do_create_dispatch, do_enqueue, do_start
from delivery.models import Message
from delivery.tests.engine import started_dispatch, vapid_key, web_audience
from tests.pushservices.webpush import WebPushService

pytestmark = pytest.mark.django_db

CONTENT = {"title": "Spring sale", "body": "New colours", "image": "https://shop.example/a.png"}


@pytest.fixture
def service():
    with WebPushService() as running:
        yield running


@pytest.fixture
def key(db):
    return vapid_key()


def outcomes(dispatch):
    rows = Message.objects.filter(dispatch=dispatch).values_list("device__browser", "status", "code")
    return sorted(rows)


def test_a_safari_device_is_dropped_with_its_code_when_the_content_leaves_safari_out(service, key):
    safari, *_ = web_audience(service, 1, browser="safari")
    chrome, *_ = web_audience(service, 1, browser="chrome")
    dispatch = started_dispatch([safari[0], chrome[0]], CONTENT | {"browsers": "not_safari"})

    report = sending.send_batch(dispatch.pk)

    assert (report.sent, report.dropped) == (1, 1)
    assert outcomes(dispatch) == [("chrome", "sent", ""), ("safari", "dropped", sending.SAFARI_EXCLUDED)]
    assert service.payloads(safari[1]) == []
    assert [p["title"] for p in service.payloads(chrome[1])] == ["Spring sale"]


def test_a_safari_device_is_sent_content_for_all_browsers(service, key):
    safari, *_ = web_audience(service, 1, browser="safari")
    dispatch = started_dispatch([safari[0]], CONTENT | {"browsers": "all"})

    sending.send_batch(dispatch.pk)

    assert outcomes(dispatch) == [("safari", "sent", "")]


def test_only_the_variant_that_leaves_safari_out_is_dropped_for_safari(service, key):
    first, second = web_audience(service, 2, browser="safari")
    dispatch = do_create_dispatch(
        channel="web_push",
        label="two variants",
        contents={"A": CONTENT | {"browsers": "not_safari"}, "B": CONTENT},
    )
    do_enqueue(dispatch, [(first[0].profile_id, first[0].pk, "A"), (second[0].profile_id, second[0].pk, "B")])
    do_start(dispatch)

    sending.send_batch(dispatch.pk)

    codes = dict(Message.objects.filter(dispatch=dispatch).values_list("variant", "code"))
    assert codes == {"A": sending.SAFARI_EXCLUDED, "B": ""}
    assert sending.safari_left_out(dispatch.contents) is False
