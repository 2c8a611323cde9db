"""Every held message keeps why it waits and until when, recorded where the pipeline decides
the hold; ``delivery.holds.waiting`` says it in words, with times (time_machine sets the clock);
a failure keeps its own words (``error_detail``)."""

import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache

from delivery import holds
from delivery.actions import sending
from delivery.actions.dispatches import do_create_dispatch, do_enqueue, do_pause, do_start
from delivery.models import DeliverySettings, Message
from delivery.tests.engine import started_dispatch, vapid_key, web_audience
from delivery.throttle import Throttle
from tests.pushservices.webpush import WebPushService

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 10, 12, 7, tzinfo=UTC)


@pytest.fixture
def service():
    with WebPushService() as running:
        yield running


@pytest.fixture
def key(db):
    return vapid_key()


@pytest.fixture
def throttle():
    cache.clear()  # the interval's count lives in the cache (Redis outlives a test run)

    def per_15_min(limit):
        DeliverySettings.objects.update_or_create(pk=1, defaults={"throttle_per_15_min": limit})

    yield per_15_min
    cache.clear()


def held(dispatch):
    return list(
        Message.objects.filter(dispatch=dispatch, status="held")
        .order_by("not_before", "pk")
        .values_list("hold_reason", "not_before", "code")
    )


def sentences(dispatch, now):
    return [group.sentence for group in holds.waiting([dispatch.pk], now=now)]


def test_throttled_rows_keep_the_throttle_and_the_next_window_and_the_page_estimates_the_last(service, key, throttle):
    throttle(2)
    audience = web_audience(service, 7)
    with time_machine.travel(T0, tick=False):
        dispatch = started_dispatch([d for d, _ in audience], {"title": "Hello"})
        sending.send_batch(dispatch.pk)

    window = datetime(2026, 3, 10, 12, 15, tzinfo=UTC)
    assert held(dispatch) == [("throttle", window, "")] * 5
    # 5 waiting at 2 per window: 12:15, 12:30 and 12:45.
    assert sentences(dispatch, T0) == [
        "5 wait for the throttle (2 per 15 minutes): the next window opens at 12:15, the last expected at 12:45."
    ]


def test_what_fits_in_the_next_window_is_said_so(service, key, throttle):
    throttle(60)
    audience = web_audience(service, 3)
    with time_machine.travel(T0, tick=False):
        Throttle(60).take(60, T0)  # another campaign took this window's 60
        dispatch = started_dispatch([d for d, _ in audience], {"title": "Hello"})
        sending.send_batch(dispatch.pk)

    assert sentences(dispatch, T0) == [
        "3 wait for the throttle (60 per 15 minutes): they go in the next window, at 12:15."
    ]


def test_dnd_holds_keep_dnd_and_the_end_of_the_hours_in_each_persons_time_zone(service, key):
    [(paris, _)] = web_audience(service, 1, timezone="Europe/Paris")
    [(tokyo, _)] = web_audience(service, 1, timezone="Asia/Tokyo")
    rules = {"timezone": "UTC", "dnd": {"start": "21:00", "end": "09:00", "action": "delay"}}
    now = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)  # 00:30 in Paris, 08:30 in Tokyo
    with time_machine.travel(now, tick=False):
        dispatch = started_dispatch([paris, tokyo], {"title": "Hello"}, rules=rules)
        sending.send_batch(dispatch.pk)

    tokyo_nine = datetime(2026, 3, 11, 0, 0, tzinfo=UTC)
    paris_nine = datetime(2026, 3, 11, 8, 0, tzinfo=UTC)
    assert held(dispatch) == [("dnd", tokyo_nine, ""), ("dnd", paris_nine, "")]
    assert sentences(dispatch, now) == [
        "2 wait for Do Not Disturb to end at 09:00 in their time zone"
        " (the first at 00:00 on 11 Mar, the last at 08:00 on 11 Mar)."
    ]


def test_a_retry_keeps_the_providers_code_and_the_wait_it_asked_for(service, key):
    [(device, subscriber)] = web_audience(service, 1)
    service.answer(subscriber, 429, retry_after=120)
    with time_machine.travel(T0, tick=False):
        dispatch = started_dispatch([device], {"title": "Hello"})
        sending.send_batch(dispatch.pk)

    row = Message.objects.get(dispatch=dispatch)
    assert (row.status, row.hold_reason, row.code, row.not_before) == (
        "held",
        "retry",
        "dispatch_failed",
        T0 + timedelta(seconds=120),
    )
    assert row.error_detail == "HTTP 429, the push service asked to wait 120 s"
    assert sentences(dispatch, T0) == ["1 will be tried again after 12:09 (the push service asked to wait)."]

    with time_machine.travel(row.not_before, tick=False):
        sending.send_batch(dispatch.pk)
    row.refresh_from_db()
    assert (row.status, row.hold_reason, row.code, row.error_detail) == ("sent", "", "", "")


def test_a_retry_without_retry_after_says_what_went_wrong(service, key):
    [(device, subscriber)] = web_audience(service, 1)
    service.answer(subscriber, 503)
    with time_machine.travel(T0, tick=False):
        dispatch = started_dispatch([device], {"title": "Hello"})
        sending.send_batch(dispatch.pk)

    assert held(dispatch) == [("retry", T0 + timedelta(seconds=10), "server_issue")]
    assert sentences(dispatch, T0) == ["1 will be tried again after 12:07 (the push service had an internal error)."]


def test_a_user_time_zone_run_holds_its_rows_for_the_persons_local_time(service, key):
    [(device, _)] = web_audience(service, 1, timezone="America/New_York")
    rules = {"timezone": "UTC", "user_timezone_at": "09:00"}
    release = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)  # 09:00 in New York (EDT since 8 March)
    with time_machine.travel(T0, tick=False):
        dispatch = do_create_dispatch(channel="web_push", label="run", contents={"A": {"title": "Hi"}}, rules=rules)
        do_enqueue(dispatch, [(device.profile_id, device.pk, "A", release)])
        do_start(dispatch)

    assert held(dispatch) == [("user_time_zone", release, "")]
    assert sentences(dispatch, T0) == ["1 waits for 09:00 in their own time zone (at 13:00)."]


def test_the_pipelines_own_user_time_zone_hold_is_recorded_too(service, key):
    [(device, _)] = web_audience(service, 1, timezone="Asia/Tokyo")
    rules = {"timezone": "UTC", "user_timezone_at": "2026-03-11T09:00"}
    with time_machine.travel(T0, tick=False):
        dispatch = started_dispatch([device], {"title": "Hello"}, rules=rules)
        sending.send_batch(dispatch.pk)

    assert held(dispatch) == [("user_time_zone", datetime(2026, 3, 11, 0, 0, tzinfo=UTC), "")]
    assert sentences(dispatch, T0) == ["1 waits for 09:00 on 11 Mar in their own time zone (at 00:00 on 11 Mar)."]


def test_a_paused_dispatchs_queued_rows_wait_for_the_resume(service, key):
    audience = web_audience(service, 2)
    dispatch = do_pause(started_dispatch([d for d, _ in audience], {"title": "Hello"}))

    assert sentences(dispatch, T0) == ["2 wait for the campaign to be resumed."]


class Silent:
    """A listener that accepts connections and never answers."""

    def __enter__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.accepted = []
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self):
        while True:
            try:
                self.accepted.append(self.sock.accept()[0])
            except OSError:
                return

    def __exit__(self, *exc):
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def test_a_linked_content_failure_keeps_the_url_and_what_went_wrong_without_the_query(service, key, settings):
    settings.LINKED_CONTENT_ALLOW_HTTP = True
    settings.LINKED_CONTENT_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    audience = web_audience(service, 2)
    with Silent() as silent:
        content = {
            "title": "{{ linked.deal.name }}",
            "linked": [{"name": "deal", "url": silent.url + "/deal?key=s3cret"}],
        }
        dispatch = started_dispatch([d for d, _ in audience], content)
        sending.send_batch(dispatch.pk)

    rows = Message.objects.filter(dispatch=dispatch).values_list("status", "code", "error_detail")
    detail = "Linked Content http://127.0.0.1/deal: timed out, no answer within 3 s."
    assert list(rows) == [("failed", "linked_content_failed", detail)] * 2


def test_a_render_error_keeps_where_and_what(service, key):
    [(device, _)] = web_audience(service, 1)
    dispatch = started_dispatch([device], {"title": "Hi {{ profile.name | nosuchfilter }}"})
    sending.send_batch(dispatch.pk)

    row = Message.objects.get(dispatch=dispatch)
    assert (row.status, row.code) == ("failed", "render_failed")
    assert row.error_detail.startswith("render error in title: ")
    assert "nosuchfilter" in row.error_detail
    assert len(row.error_detail) <= Message.DETAIL_LENGTH


def test_queued_rows_of_a_sending_dispatch_are_being_sent_and_an_open_ones_are_left_to_the_caller(service, key):
    audience = web_audience(service, 3)
    dispatch = started_dispatch([d for d, _ in audience[:2]], {"title": "Hello"})
    rest = do_create_dispatch(channel="web_push", label="A/B rest", contents={"A": {"title": "Hi"}})
    do_enqueue(rest, [(audience[2][0].profile_id, audience[2][0].pk, "")])

    assert [group.sentence for group in holds.waiting([dispatch.pk, rest.pk], now=T0)] == ["2 are being sent now."]
