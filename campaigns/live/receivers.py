"""The receiver of ``segments.signals.events_recorded`` (connected in ``CampaignsConfig.ready``)."""

import logging

from kombu.exceptions import OperationalError

from campaigns.live import tasks

log = logging.getLogger(__name__)


def queue_live_evaluation(sender, event_ids, **kwargs):
    """Only queue the evaluation: this runs inside the request that recorded the events,
    after their commit. A broker that cannot be reached must not turn stored events into an
    error answer (the client would send them again): the live evaluation is lost, logged."""
    try:
        tasks.evaluate_events.delay(list(event_ids))
    except OperationalError:
        log.exception("live campaigns: could not queue the evaluation of %d events", len(event_ids))
