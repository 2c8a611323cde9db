"""What segments tells the apps above it, without importing them (DESIGN.md: a lower
app never imports a higher one; the higher app connects a receiver).

``events_recorded`` is sent once the transaction that stored events has committed, with
``event_ids`` (a list of Event ids). Live campaigns (campaigns) and engagement tracking
(stats) connect to it in their ``AppConfig.ready``; a receiver only queues work (a Celery
task taking the ids), through ``queue``, because it runs inside the request that recorded
the events. ``send_events_recorded`` sends it and publishes what the receivers queued as
one broker message (``segments.tasks.fan_out`` queues each task from a worker): a
request that records events pays for one Celery publish, not one per receiver.
"""

import base64
import json
import logging
import threading
import uuid
from importlib import import_module

import redis
from django.dispatch import Signal
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

events_recorded = Signal()
_collected = threading.local()


def send_events_recorded(sender, event_ids):
    """Send ``events_recorded``; the tasks its receivers queue leave in one message.

    A Celery publish costs about 1 ms of CPU (the message, its headers, the Redis call);
    two receivers made two for every request that records an event (bench/sdk.py). The
    worker that runs ``fan_out`` queues each task as its receiver asked, so each still
    runs, retries and fails on its own."""
    _collected.tasks = tasks = []
    try:
        events_recorded.send(sender=sender, event_ids=event_ids)
    finally:
        _collected.tasks = None
    if len(tasks) == 1:
        task, work = tasks[0]
        _publish(task, [work], event_ids)
    elif tasks:
        # Imported here, not at the top: segments.tasks imports this module. Not looked up in
        # Celery's registry by name either: a process that never imported segments.tasks (a
        # management command, a shell; the web imports it through its URLs) has it not there.
        fan_out = import_module("segments.tasks").fan_out
        _publish(fan_out, [work for _, work in tasks], event_ids, [[task.name, work] for task, work in tasks])


def queue(task, event_ids, *, work):
    """Queue ``task`` with the events' ids: the one broker-outage rule for every receiver.

    The events are stored and committed when this runs, so a broker that cannot be
    reached must not turn them into an error answer: the client would send them again and
    they would be stored twice. The queued work (``work``, e.g. "live campaigns") is lost
    instead, in one logged line: no periodic sweep finds events that were never processed
    (an Event keeps no processed mark). Celery raises kombu's OperationalError when
    publishing fails after its retries (celery.app.amqp, the publish retry policy)."""
    collecting = getattr(_collected, "tasks", None)
    if collecting is not None:  # inside send_events_recorded: it publishes them together
        collecting.append((task, work))
        return
    _publish(task, [work], event_ids)


def _publish(task, works, event_ids, *args):
    event_ids = list(event_ids)
    try:
        send_task(task, [*args, event_ids])
    except (OperationalError, RedisError) as error:
        for work in works:  # one line per lost piece of work
            log.warning("%s: broker unreachable, %d events stored but not queued (%s)", work, len(event_ids), error)


# Celery's own publish (task.delay: the message and its headers built through layers of
# configuration look-ups, kombu's producer, its exchange look-up in Redis, then LPUSH)
# cost about 1 ms of CPU, a quarter of a single-event request (py-spy, bench/sdk.py).
# With Redis as the broker the same message, in Celery's protocol 2 and kombu's Redis
# envelope, is pushed onto the task's queue in one LPUSH: what kombu's consumer reads
# (segments/tests/test_events_publish.py reads it back with kombu's own consumer;
# campaigns/tests/test_live_worker.py runs a real worker on it).
_clients = {}
_routes = {}


def send_task(task, args):
    """``task.delay(*args)``: in one LPUSH on a redis:// broker, through Celery otherwise
    (eager tasks in tests, the filesystem broker, rediss://). A broker that cannot be
    reached raises redis-py's ConnectionError (kombu's OperationalError through Celery)."""
    app = task.app
    conf = app.conf
    url = conf.broker_url
    if conf.task_always_eager or not url.startswith("redis://"):
        return task.delay(*args)
    route = (task.name, conf.task_default_queue)
    queue_name = _routes.get(route)
    if queue_name is None:
        queue = app.amqp.router.route({}, task.name, args, {}, task)["queue"]
        # Celery sends a direct exchange's message to the queue itself (the anonymous
        # exchange, the queue's name as routing key); other exchanges go through Celery.
        queue_name = _routes[route] = queue.name if queue.exchange.type == "direct" else ""
    if not queue_name:
        return task.delay(*args)
    task_id = str(uuid.uuid4())
    message = app.amqp.as_task_v2(
        task_id, task.name, args, {}, ignore_result=task.ignore_result, argsrepr=repr(args)[:1024], kwargsrepr="{}"
    )
    envelope = {
        "body": base64.b64encode(json.dumps(message.body).encode()).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": message.headers,
        "properties": {
            **message.properties,
            "delivery_mode": 2,  # persistent, as Celery sends
            "delivery_info": {"exchange": "", "routing_key": queue_name},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }
    client = _clients.get(url)
    if client is None:
        # One client per broker URL and process (it is thread-safe); Celery's connect timeout.
        client = _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=conf.broker_connection_timeout)
    client.lpush(queue_name, json.dumps(envelope))
    return task_id
