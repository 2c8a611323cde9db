"""What segments tells the apps above it, without importing them (DESIGN.md: a lower
app never imports a higher one; the higher app connects a receiver).

``events_recorded`` is sent once the transaction that stored events has committed, with
``event_ids`` (a list of Event ids). Live campaigns (campaigns) and engagement tracking
(stats) connect to it in their ``AppConfig.ready``; a receiver only queues work (a Celery
task taking the ids), through ``queue``, because it runs inside the request that recorded
the events.
"""

import logging

from django.dispatch import Signal
from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)

events_recorded = Signal()


def queue(task, event_ids, *, work):
    """Queue ``task`` with the events' ids: the one broker-outage rule for every receiver.

    The events are stored and committed when this runs, so a broker that cannot be
    reached must not turn them into an error answer: the client would send them again and
    they would be stored twice. The queued work (``work``, e.g. "live campaigns") is lost
    instead, in one logged line: no periodic sweep finds events that were never processed
    (an Event keeps no processed mark). Celery raises kombu's OperationalError when
    publishing fails after its retries (celery.app.amqp, the publish retry policy)."""
    event_ids = list(event_ids)
    try:
        task.delay(event_ids)
    except OperationalError as error:
        log.warning("%s: broker unreachable, %d events stored but not queued (%s)", work, len(event_ids), error)
