"""Receivers of what the apps below report (segments.signals), connected in apps.py."""

from segments.signals import queue
from stats import tasks


def queue_tracking(sender, event_ids, **kwargs):
    """Events were stored and committed: views, clicks and conversions are worked out by a
    task, so the request that recorded them does not wait for it."""
    queue(tasks.track_events, event_ids, work="stats tracking")
