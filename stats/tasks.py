"""Celery tasks of stats: thin, and safe to run twice. Names are explicit: queued messages
and beat's entries carry them, so moving a function must not change them."""

from celery import shared_task

from stats.actions.events import do_track_events
from stats.actions.retention import do_prune_messages
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


@shared_task(name="stats.tasks.prune_messages", ignore_result=True)
def prune_messages():
    """Beat, hourly (config/celery.py): delete the messages of dispatches finished more than
    MESSAGE_RETENTION_DAYS ago, once their roll-ups are kept (stats/actions/retention.py).
    Safe to run twice: a dispatch is kept once, and deleting what is gone deletes nothing."""
    do_prune_messages()
