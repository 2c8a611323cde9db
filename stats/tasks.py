"""Celery tasks of stats: thin, and safe to run twice. Names are explicit: queued messages
and beat's entries carry them, so moving a function must not change them."""

from celery import shared_task

from stats.actions.events import do_track_events
from stats.actions.rollup import do_roll_up


@shared_task(name="stats.tasks.roll_up", ignore_result=True)
def roll_up():
    """Beat, every minute (config/celery.py): bring the per-campaign, run, variant and day
    roll-ups up to date. Safe to run twice: it recomputes, never adds."""
    do_roll_up()


@shared_task(name="stats.tasks.track_events", ignore_result=True)
def track_events(event_ids):
    """Views, clicks and conversions from events just recorded (segments.signals)."""
    do_track_events(event_ids)
