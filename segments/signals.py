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

import logging
import threading

from celery import current_app
from django.dispatch import Signal
from kombu.exceptions import OperationalError

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
        fan_out = current_app.tasks["segments.tasks.fan_out"]  # by name: segments.tasks imports this
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
        task.delay(*args, event_ids)
    except OperationalError as error:
        for work in works:  # one line per lost piece of work
            log.warning("%s: broker unreachable, %d events stored but not queued (%s)", work, len(event_ids), error)
