"""The receiver of ``segments.signals.events_recorded`` (connected in ``CampaignsConfig.ready``)."""

from campaigns import tasks
from segments.signals import queue


def queue_live_evaluation(sender, event_ids, **kwargs):
    """Only queue the evaluation: this runs inside the request that recorded the events,
    after their commit (a broker outage: ``segments.signals.queue``)."""
    queue(tasks.evaluate_events, event_ids, work="live campaigns")
