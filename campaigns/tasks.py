"""Beat's campaign housekeeping (config/celery.py). Each does nothing yet; the
Scheduling and live campaigns issue (issue 7) owns all three."""

from celery import shared_task


@shared_task(ignore_result=True)
def dispatch_due_firings():
    """Does nothing yet. Issue 7 owns it: claim due firings with
    select_for_update(skip_locked=True) and create one CampaignRun per campaign and
    planned time."""


@shared_task(ignore_result=True)
def check_inaction_windows():
    """Does nothing yet. Issue 7 owns it: send live "inaction within time" campaigns
    whose window has passed without the cancelling event."""


@shared_task(ignore_result=True)
def finish_ab_tests():
    """Does nothing yet. Issue 7 owns it: pick the winner of A/B tests whose test
    period has ended and send it to the rest."""
