"""A request that records events publishes one Celery message (segments.signals).

Live campaigns and stats each queue a task from ``events_recorded``; each publish costs
about 1 ms of CPU in the request (bench/sdk.py). ``send_events_recorded`` sends them as one
``segments.tasks.fan_out`` message, whose worker queues each task."""

import json

import pytest
from celery.app.task import Task

from segments.actions.keys import create_api_key
from segments.models import Event
from segments.tasks import fan_out


@pytest.fixture
def published(monkeypatch):
    """What is handed to the broker, recorded instead of sent: the shared development
    Redis has other workers on its queue, which must not get this test's event ids."""
    sent = []
    monkeypatch.setattr(
        Task, "apply_async", lambda task, args=None, kwargs=None, **options: sent.append((task.name, args))
    )
    return sent


@pytest.mark.django_db(transaction=True)  # on_commit runs inside the request, as in production
def test_one_event_request_publishes_one_message_that_queues_each_task(client, published):
    _, key = create_api_key("app", rate_per_minute=1000)
    body = {"events": [{"identity": "u1", "name": "Added to cart"}]}
    response = client.post(
        "/api/v1/events", json.dumps(body), content_type="application/json", headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.content
    ids = list(Event.objects.values_list("pk", flat=True))
    tasks = [["campaigns.live.tasks.evaluate_events", "live campaigns"], ["stats.tasks.track_events", "stats tracking"]]
    assert [(name, [sorted(args[0]), args[1]]) for name, args in published] == [
        ("segments.tasks.fan_out", [tasks, ids])
    ]

    published.clear()
    fan_out(tasks, ids)  # what the worker runs
    assert published == [("campaigns.live.tasks.evaluate_events", (ids,)), ("stats.tasks.track_events", (ids,))]
