"""Celery tasks of campaigns: thin, ids in, state on rows, safe to run twice. Beat runs
the dispatcher and the A/B check (config/celery.py)."""

from celery import shared_task

from campaigns.actions import ab, runs


@shared_task(ignore_result=True)
def dispatch_due_firings():
    """Fire due campaigns, one CampaignRun per campaign and planned time (beat, every 5 s)."""
    runs.do_dispatch_due()


@shared_task(ignore_result=True)
def start_run(run_id):
    """Evaluate a run's audience and start sending it. A run that cannot start ends Failed
    with its reason, and its owner is emailed (runs.do_fail_run): not retried, since the
    same segment would fail the same way, and never left Running. A failure before the
    run is claimed leaves it planned, and the dispatcher queues it again."""
    runs.do_start_run(run_id)


@shared_task(ignore_result=True)
def finish_ab_tests():
    """Pick the winners of A/B tests whose test period has ended and send them to the rest (beat, every 60 s)."""
    ab.do_finish_ab_tests()
