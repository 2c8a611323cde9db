"""Celery tasks of campaigns: thin, ids in, state on rows, safe to run twice. Beat runs
the dispatcher and the A/B check (config/celery.py).

Tasks import actions, never the reverse: an action that needs a task queued returns what to
queue (``dispatcher.do_dispatch_due`` returns the runs to start) and the task queues it
after the commit. Names are explicit: they are what queued messages and beat entries name,
so moving a function must not change them."""

from celery import shared_task
from django.db import transaction

from campaigns import idempotency
from campaigns.actions import ab, dispatcher, runs
from campaigns.live import sending, triggers


@shared_task(name="campaigns.tasks.dispatch_due_firings", ignore_result=True)
def dispatch_due_firings():
    """Fire due campaigns, one CampaignRun per campaign and planned time (beat, every 5 s),
    and start the runs it created or found waiting."""
    run_ids = dispatcher.do_dispatch_due()
    # The action has committed its transaction; on_commit also holds if a caller wraps this
    # in one (it runs at once outside a transaction).
    transaction.on_commit(lambda: [start_run.delay(run_id) for run_id in run_ids])


@shared_task(name="campaigns.tasks.start_run", ignore_result=True)
def start_run(run_id):
    """Evaluate a run's audience and start sending it. A run that cannot start ends Failed
    with its reason, and its owner is emailed (runs.do_fail_run): not retried, since the
    same segment would fail the same way, and never left Running. A failure before the
    run is claimed leaves it planned, and the dispatcher queues it again."""
    runs.do_start_run(run_id)


@shared_task(name="campaigns.tasks.finish_ab_tests", ignore_result=True)
def finish_ab_tests():
    """Pick the winners of A/B tests whose test period has ended and send them to the rest (beat, every 60 s)."""
    ab.do_finish_ab_tests()


# Live campaigns. Their names keep the module they were first defined in (campaigns/live/tasks.py).
@shared_task(name="campaigns.live.tasks.evaluate_events", ignore_result=True)
def evaluate_events(event_ids):
    """Evaluate recorded events for the running live campaigns (queued by campaigns/receivers.py)."""
    triggers.do_evaluate_events(event_ids)


@shared_task(name="campaigns.live.tasks.send_due", ignore_result=True)
def send_due():
    """Send the inaction windows and date-property sends that came due (beat, every 30 s:
    "check inaction windows" in config/celery.py)."""
    sending.do_send_due()


@shared_task(name="campaigns.tasks.forget_idempotency_keys", ignore_result=True)
def forget_idempotency_keys():
    """Delete the API's idempotency keys older than 30 days (beat, hourly)."""
    idempotency.do_forget_expired()
