"""Live campaigns' Celery tasks: thin, ids in, state on rows, safe to run twice."""

from celery import shared_task

from campaigns.live import sending, triggers


@shared_task(ignore_result=True)
def evaluate_events(event_ids):
    """Evaluate recorded events for the running live campaigns (queued by the receiver)."""
    triggers.do_evaluate_events(event_ids)


@shared_task(ignore_result=True)
def send_due():
    """Send the inaction windows and date-property sends that came due (beat, every 30 s:
    "check inaction windows" in config/celery.py)."""
    sending.do_send_due()
