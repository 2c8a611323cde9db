"""Where a campaign stands, as the list and the campaign page report it: its next run, its
runs with their counts, the run in progress with its live counters, and why its messages
wait. The numbers come from the modules that define them (``campaigns.counts``,
``delivery.holds``, ``campaigns.actions.ab``); the views only add their URLs and render.
"""

from campaigns import counts as run_counts
from campaigns.actions import ab
from campaigns.models import Campaign, CampaignRun
from delivery import holds
from delivery.zones import zone

IN_PROGRESS = (CampaignRun.Status.RUNNING, CampaignRun.Status.PAUSED)


def next_run(campaign, now):
    """ "live" for a running live campaign, the next planned time of a scheduled one
    (as {at, text} in its own time zone), or None."""
    if campaign.status == Campaign.Status.RUNNING and (
        campaign.is_live or campaign.channel == Campaign.Channel.EXIT_INTENT
    ):
        return "live"
    if campaign.status != Campaign.Status.SCHEDULED or campaign.is_live or campaign.next_run_at is None:
        return None
    # The schedule row the dispatcher fires (campaigns/actions/dispatcher.py), not a recomputation.
    at, tz = campaign.next_run_at, zone(campaign.timezone)
    return {"at": at, "text": f"{at.astimezone(tz):%d %b %Y %H:%M} {tz.key}"}


def runs(campaign):
    """The campaign's runs, each with its ``counts`` (campaigns.counts.RunCounts): four queries
    however many runs."""
    found = list(campaign.runs.select_related("dispatch"))
    counts = run_counts.for_runs(found)
    for run in found:
        run.counts = counts[run.pk]
    return found


def in_progress(runs):
    """The run going on (running or paused) among ``runs``, or None."""
    return next((run for run in runs if run.status in IN_PROGRESS), None)


def runs_in_progress(campaign):
    """The campaign's runs going on (running or paused), as a query."""
    return campaign.runs.filter(status__in=IN_PROGRESS)


def current_run(campaign):
    """The campaign's run in progress with its ``counts``, or None: what the live counters poll."""
    run = runs_in_progress(campaign).first()
    if run is not None:
        run.counts = run_counts.for_runs([run])[run.pk]
    return run


def live(run):
    """The counters of the run in progress (``run`` with its counts, or None) and whether
    they can still move: polling stops once nothing of the run can."""
    if run is None:
        return None
    moving = run.status == CampaignRun.Status.RUNNING and run.counts.waiting > 0
    return {"run": run, "counts": run.counts, "polling": moving}


def waiting(runs):
    """Why the messages of the runs in progress among ``runs`` wait (delivery/holds.py) and
    when a running A/B test picks its winner; None when nothing waits."""
    going = [run for run in runs if run.status in IN_PROGRESS]
    groups = holds.waiting([pk for run in going for pk in (run.dispatch_id, run.remainder_id)])
    picks = [sentence for run in going if (sentence := ab.winner_pick(run))]
    if not groups and not picks:
        return None
    return {"groups": groups, "picks": picks}
