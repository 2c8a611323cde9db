"""The receiver of ``segments.signals.events_recorded`` (connected in ``CampaignsConfig.ready``)."""

from campaigns.live import tasks


def queue_live_evaluation(sender, event_ids, **kwargs):
    """Only queue the evaluation: this runs inside the request that recorded the events."""
    tasks.evaluate_events.delay(list(event_ids))
