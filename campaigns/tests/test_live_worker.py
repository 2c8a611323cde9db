"""Live campaigns end to end with a real Celery worker (its own process): an event posted to
the JSON API commits, ``events_recorded`` queues the evaluation, the worker evaluates it and
sends the push to the local Web Push service; a due inaction window is sent once by the
beat task however often it runs."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import tasks
from campaigns.models import Campaign, LiveTrigger
from campaigns.tests.live import live_campaign
from config.celery import app
from delivery.models import Message
from delivery.tests.engine import vapid_key, web_audience
from segments.actions.keys import create_api_key
from tests.processes import CeleryProcesses
from tests.pushservices.webpush import WebPushService

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def webpush():
    with WebPushService() as running:
        yield running


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """One worker for the module, with this process's tasks routed to its own queue."""
    processes = CeleryProcesses(tmp_path_factory.mktemp("celery"))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PUSH_PROVIDERS", "live")
        with django_db_blocker.unblock():
            processes.start("worker")
    default_queue = app.conf.task_default_queue
    app.conf.task_default_queue = processes.queue
    yield processes
    app.conf.task_default_queue = default_queue
    processes.stop()


@pytest.fixture
def post_event(client):
    _, key = create_api_key("worker test", rate_per_minute=10_000)

    def post(identity, name, **properties):
        body = {"events": [{"identity": identity, "name": name, "properties": properties}]}
        response = client.post(
            "/api/v1/events",
            json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == 200, response.content

    return post


def test_an_event_posted_to_the_api_reaches_the_browser_through_the_worker(worker, webpush, post_event):
    vapid_key()
    live_campaign(
        trigger_filters=[{"name": "price", "op": "greater", "value": 20}],
        variants=[{"content": {"title": "{{ profile.first_name }}, your cart", "body": "Come back"}}],
    )
    [(ada, ada_sub), (bob, bob_sub)] = web_audience(webpush, 2)

    post_event(ada.profile.identity, "Added To Cart", price=30)
    post_event(bob.profile.identity, "Added To Cart", price=5)  # fails the filter

    worker.wait_for(lambda: webpush.received.get(ada_sub.id), 60, "the push to reach ada's browser")
    [received] = webpush.received[ada_sub.id]
    assert (received.payload["title"], received.payload["body"]) == ("Zoë, your cart", "Come back")
    worker.wait_for(lambda: LiveTrigger.objects.count() == 1, 30, "the evaluation of both events")
    assert bob_sub.id not in webpush.received


def test_a_due_inaction_window_is_sent_once_by_the_beat_task_run_twice(worker, webpush, post_event):
    vapid_key()
    campaign = live_campaign(Campaign.Kind.INACTION)
    [(ada, ada_sub)] = web_audience(webpush, 1)
    post_event(ada.profile.identity, "Added To Cart")
    worker.wait_for(lambda: LiveTrigger.objects.filter(campaign=campaign).exists(), 60, "the window to open")

    # Ten minutes pass (the worker's clock cannot be set: the window is moved instead).
    LiveTrigger.objects.filter(campaign=campaign).update(due_at=timezone.now() - timedelta(seconds=1))
    tasks.send_due.delay()
    tasks.send_due.delay()

    worker.wait_for(lambda: webpush.received.get(ada_sub.id), 60, "the push to reach ada's browser")
    worker.wait_for(
        lambda: LiveTrigger.objects.filter(campaign=campaign, status="sent").exists(), 30, "the window to be sent"
    )
    assert len(webpush.received[ada_sub.id]) == 1
    assert Message.objects.filter(dispatch__run__campaign=campaign).count() == 1
