"""A/B tests of past-behaviour campaigns: when a run's test period is over, the variant
with the most clicks wins (ties go to the earliest variant: ``allocation.pick_winner``) and
is sent to the rest of the audience, the people kept in the run's ``remainder`` dispatch
when the run started (so a segment that changed since does not change who gets it).

The test period is ``Campaign.ab_test_minutes`` (at least 15) from the run's start, kept on
the run as ``ab_ends_at``; beat looks for ended tests every 60 s (config/celery.py), so a
winner is picked at most a minute after its test ends."""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from campaigns import schedule
from campaigns.allocation import clicks_per_variant, pick_winner
from campaigns.models import Campaign, CampaignRun
from delivery.actions import dispatches
from delivery.models import Message

BATCH = 50


def do_finish_ab_tests(*, now=None):
    """Pick the winner of every running A/B run whose test period has ended and send it to
    the rest. A paused campaign's test waits until it is resumed. Returns the runs finished."""
    now = now or timezone.now()
    due = CampaignRun.objects.filter(
        status=CampaignRun.Status.RUNNING,
        ab_ends_at__lte=now,
        winner_picked_at__isnull=True,
        remainder__isnull=False,
    ).values_list("pk", flat=True)
    return [run for run_id in list(due[:BATCH]) if (run := do_finish_ab_test(run_id, now=now))]


def do_finish_ab_test(run_id, *, now=None):
    """Finish one run's A/B test (see the module docstring); None if it is not due or was
    finished already."""
    now = now or timezone.now()
    with transaction.atomic():
        run = (
            CampaignRun.objects.select_for_update(skip_locked=True)
            .filter(pk=run_id, status=CampaignRun.Status.RUNNING, winner_picked_at__isnull=True)
            .exclude(remainder=None)
            .first()
        )
        if run is None or run.ab_ends_at is None or run.ab_ends_at > now:
            return None
        campaign = Campaign.objects.get(pk=run.campaign_id)
        keys = list(run.dispatch.contents)
        clicks = clicks_per_variant(Q(dispatch=run.dispatch))
        run.winner, run.winner_picked_at = pick_winner(keys, clicks), now
        tally = ", ".join(f"{key}: {clicks.get(key, 0)}" for key in keys)
        run.note = f"Variant {run.winner} won the A/B test with the most clicks ({tally}) and went to the rest."
        run.save(update_fields=["winner", "winner_picked_at", "note"])
        Message.objects.filter(dispatch=run.remainder, variant="").update(variant=run.winner, updated_at=now)
        if campaign.status == Campaign.Status.RUNNING:
            dispatches.do_start(run.remainder)
    return run


def winner_pick(run, *, now=None):
    """While ``run``'s A/B test goes on, the sentence that says when its winner is picked
    ("The winner is picked at 14:00 (after 4 hours) and then sent to the 900 messages waiting
    for it."); None when the run has no test going on."""
    if run is None or run.ab_ends_at is None or run.winner_picked_at or run.status != CampaignRun.Status.RUNNING:
        return None
    now = now or timezone.now()
    at, started = timezone.localtime(run.ab_ends_at), run.started_at or run.planned_at
    when = f"{at:%H:%M}" if at.date() == timezone.localtime(now).date() else f"{at:%H:%M} on {at:%-d %b}"
    wait = schedule.duration(round((run.ab_ends_at - started).total_seconds() / 60))
    sentence = f"The winner is picked at {when} (after {wait})"
    waiting = Message.objects.filter(dispatch_id=run.remainder_id).count() if run.remainder_id else 0
    if waiting:
        sentence += f" and then sent to the {waiting} message{'s' if waiting != 1 else ''} waiting for it"
    return sentence + "."
