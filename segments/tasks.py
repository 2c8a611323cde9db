from celery import current_app, shared_task

from segments.actions.imports import do_import_profiles
from segments.actions.rollup import roll_up_events as do_roll_up_events
from segments.signals import queue


@shared_task(name="segments.tasks.import_profiles", ignore_result=True)
def import_profiles(import_id):
    """Import an uploaded CSV of profiles. Safe to run twice: the import resumes
    after the rows its row says are done (segments/actions/imports.py)."""
    do_import_profiles(import_id)


@shared_task(name="segments.tasks.fan_out", ignore_result=True)
def fan_out(tasks, event_ids):
    """Queue each of ``tasks`` ([task name, work], as ``segments.signals.queue`` was asked)
    with the events' ids: one message from the request that recorded them, one per task
    from here (segments.signals.send_events_recorded). Run twice, it queues them twice;
    the tasks are safe to run twice."""
    for name, work in tasks:
        queue(current_app.tasks[name], event_ids, work=work)


@shared_task(name="segments.tasks.roll_up_events", ignore_result=True)
def roll_up_events():
    """Add the events recorded since the last run to the events roll-up (segments/actions/rollup.py).
    Safe to run twice or at once: each batch moves the watermark under its row lock."""
    do_roll_up_events()
