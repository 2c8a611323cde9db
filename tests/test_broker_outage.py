"""Stored events answer 2xx when the broker is down.

segments sends ``events_recorded`` after the events' commit; campaigns (live triggers) and
stats (views, clicks, conversions) each queue a task from it. A broker that cannot be
reached must not turn events already stored into a 500 (the client would send them again,
and count twice): every receiver queues through ``segments.signals.queue``, which logs the
lost work in one line instead."""

import json
import logging
import socket

import pytest

from config.celery import app as celery_app
from segments.actions.keys import create_api_key
from segments.models import Event


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_down(monkeypatch):
    """Celery's broker at a port nobody listens on. CELERY_BROKER_URL in the environment
    wins over the settings (celery.app.utils.Settings.broker_url); the app's cached pools
    are set aside so the next publish connects afresh, and put back afterwards."""
    conf, amqp = celery_app.conf, celery_app.amqp
    saved = conf.task_always_eager, celery_app._pool, amqp._producer_pool
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{closed_port()}/0")
    conf.task_always_eager = False
    celery_app._pool = amqp._producer_pool = None
    yield
    conf.task_always_eager, celery_app._pool, amqp._producer_pool = saved


@pytest.mark.django_db(transaction=True)  # on_commit runs inside the request, as in production
def test_events_are_stored_and_answered_when_the_broker_is_unreachable(client, broker_down, caplog):
    _, key = create_api_key("app", rate_per_minute=1000)
    body = {
        "events": [
            {"identity": "u1", "name": "Added to cart"},
            {"identity": "u1", "name": "Notification Clicked", "properties": {"message_id": 7}},
        ]
    }
    with caplog.at_level(logging.WARNING, logger="segments.signals"):
        response = client.post(
            "/api/v1/events",
            json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )
    assert response.status_code == 200, response.content
    assert Event.objects.count() == 2
    lost = [record for record in caplog.records if record.name == "segments.signals"]
    # One line from each app's receiver, no traceback.
    assert sorted(record.getMessage().split(":")[0] for record in lost) == ["live campaigns", "stats tracking"]
    assert all("2 events stored but not queued" in record.getMessage() and not record.exc_info for record in lost)
