from celery import current_app, shared_task

from segments.actions.imports import do_import_profiles
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
