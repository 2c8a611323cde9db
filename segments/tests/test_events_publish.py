"""A request that records events publishes one Celery message (segments.signals).

Live campaigns and stats each queue a task from ``events_recorded``; each publish costs
about 1 ms of CPU in the request (bench/sdk.py). ``send_events_recorded`` sends them as one
``segments.tasks.fan_out`` message, whose worker queues each task."""

import json
import uuid

import pytest

from config.celery import app
from segments import signals
from segments.actions.keys import create_api_key
from segments.models import Event
from segments.tasks import fan_out


@pytest.fixture
def published(monkeypatch):
    """What is handed to the broker, recorded instead of sent: the shared development
    Redis has other workers on its queue, which must not get this test's event ids."""
    sent = []
    monkeypatch.setattr(signals, "send_task", lambda task, args: sent.append((task.name, tuple(args))))
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


@pytest.fixture
def own_queue():
    """This test's own queue (the shared development Redis has workers on the default one)."""
    default, app.conf.task_default_queue = app.conf.task_default_queue, f"test-{uuid.uuid4().hex[:12]}"
    yield app.conf.task_default_queue
    with app.connection_for_write() as connection:
        connection.default_channel.client.delete(app.conf.task_default_queue)
    app.conf.task_default_queue = default


@pytest.mark.skipif(not app.conf.broker_url.startswith("redis://"), reason="the LPUSH is for a Redis broker")
def test_the_one_lpush_is_the_message_celery_sends(own_queue):
    args = [[["stats.tasks.track_events", "stats tracking"]], [3, 1, 2]]
    fan_out.apply_async(args)  # Celery's own publish
    task_id = signals.send_task(fan_out, args)  # one LPUSH
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        celerys, ours = channel.basic_get(own_queue, no_ack=True), channel.basic_get(own_queue, no_ack=True)
    assert ours.headers["id"] == task_id != celerys.headers["id"]
    assert (
        ours.decode()
        == celerys.decode()
        == [args, {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]
    )
    assert (ours.content_type, ours.content_encoding) == (celerys.content_type, celerys.content_encoding)
    assert ours.delivery_info == celerys.delivery_info
    different = {"id", "root_id", "origin", "argsrepr"}  # the task's own id; the host and repr are the same kind
    assert {k: v for k, v in ours.headers.items() if k not in different} == {
        k: v for k, v in celerys.headers.items() if k not in different
    }
    assert set(ours.properties) - {"reply_to"} == set(celerys.properties) - {"reply_to"}
