from celery import shared_task


@shared_task(ignore_result=True)
def roll_up():
    """Does nothing yet. The Stats issue (issue 8) owns it: bring the per-campaign,
    run, variant and day roll-ups up to date; safe to run twice."""
