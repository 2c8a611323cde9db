"""Scheduled runs' clock (DESIGN.md "How a scheduled run flows"): when a campaign's firings
are due, the dispatcher that fires them, and completing runs and campaigns.

``Campaign.next_run_at`` is the schedule row: the next planned time of a scheduled one-time,
multi-date or recurring campaign. The dispatcher (beat, every 5 s) claims the due ones with
``select_for_update(skip_locked=True)``, creates one ``CampaignRun`` per campaign and planned
time (unique, so a second beat process or a repeated tick cannot double it), advances
``next_run_at`` and returns the runs to start: the task (``campaigns.tasks``) queues
``start_run`` for each once the transaction has committed. Starting a run:
``campaigns/actions/runs.py``.
"""

from datetime import UTC, datetime, timedelta
from datetime import timezone as fixed_offset

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import audit
from campaigns import allocation, schedule
from campaigns.models import Campaign, CampaignRun

Status = Campaign.Status
RunStatus = CampaignRun.Status

CLAIM_BATCH = 50  # campaigns one dispatcher tick fires at most; the next tick takes the rest
MAX_MISSED = 1000  # firings of one campaign looked at in one tick (a daily one down for ~3 years)
# A planned run not picked up by a worker this long after it was created (its task was
# lost, or its campaign was paused and has been resumed) is queued again.
RESTART_AFTER = timedelta(seconds=60)
# "Deliver in the user's time zone": the planned wall time comes first at UTC+14 and last
# at UTC-12, so a run starts when it is that time at UTC+14 and keeps its cut-off until it
# is the cut-off time at UTC-12.
EARLIEST_ZONE = fixed_offset(timedelta(hours=14))
LATEST_ZONE = fixed_offset(timedelta(hours=-12))
USER_TIMEZONE_LEAD = timedelta(hours=26)  # the most a run starts before its planned time

SUPERSEDED = "Missed while the scheduler was down; a later firing was due as well, and only the latest one was sent."
ACTIVE = (RunStatus.PLANNED, RunStatus.RUNNING, RunStatus.PAUSED)


# --- when -------------------------------------------------------------------------------


def next_firing(campaign, *, after):
    """The first planned time of ``campaign`` at or after ``after`` (aware UTC), or None."""
    found = schedule.upcoming(campaign, after=after, count=1)
    return found[0] if found else None


def fires_at(campaign, planned):
    """When the run planned for ``planned`` starts: then, or for a campaign delivered in each
    user's time zone, when the planned wall time comes at UTC+14 (its messages are held
    until the time comes in each profile's zone)."""
    if not campaign.user_timezone:
        return planned
    wall = schedule.local(planned, schedule.zone(campaign.timezone))
    return wall.replace(tzinfo=EARLIEST_ZONE).astimezone(UTC)


def cutoff_for(campaign, planned):
    """The run's cut-off as an aware datetime: the cut-off time on the run's day in the
    campaign's zone (the next day when it is not after the send time), at UTC-12 for a
    user-time-zone run. None without a cut-off."""
    if campaign.cutoff_time is None:
        return None
    wall = schedule.local(planned, schedule.zone(campaign.timezone))
    day = wall.date()
    if campaign.cutoff_time <= wall.time():
        day += timedelta(days=1)
    cutoff = datetime.combine(day, campaign.cutoff_time)
    if campaign.user_timezone:
        return cutoff.replace(tzinfo=LATEST_ZONE).astimezone(UTC)
    return schedule.to_utc(cutoff, schedule.zone(campaign.timezone))


def rules_for(campaign, planned):
    """The delivery rules of the run planned for ``planned``: those every send of the
    campaign shares (``allocation.rules_for``), with the run's cut-off, the user's time zone
    and best time (its messages are held from the run's start, ``delivery/actions/besttime.py``)."""
    rules = allocation.rules_for(campaign)
    cutoff = cutoff_for(campaign, planned)
    if cutoff:
        rules["cutoff"] = cutoff.isoformat()
    if campaign.user_timezone:
        rules["user_timezone_at"] = schedule.local(planned, schedule.zone(campaign.timezone)).isoformat()
    if campaign.best_time:
        rules["best_time"] = {"fallback_hour": campaign.best_time_fallback_hour}
    return rules


def _missed_reason(campaign, planned, now):
    """Why a firing found due at ``now`` is not run any more, or "" when it still runs."""
    tz = schedule.zone(campaign.timezone)
    due = f"It was due {wall_time(planned, tz)}"
    if campaign.ends_at and now > campaign.ends_at:
        return f"{due}; the campaign ended {wall_time(campaign.ends_at, tz)} before the scheduler could start it."
    cutoff = cutoff_for(campaign, planned)
    if cutoff and now >= cutoff:
        return f"{due}; its cut-off ({wall_time(cutoff, tz)}) had passed when the scheduler could start it."
    return ""


def wall_time(moment, tz):
    """``moment`` as the run history writes it: "05 May 2026 09:00 Europe/Paris"."""
    return f"{moment.astimezone(tz):%d %b %Y %H:%M} {tz.key}"


# --- the dispatcher ---------------------------------------------------------------------


def do_dispatch_due(*, now=None):
    """One dispatcher tick: fire the due campaigns, find planned runs that are waiting for a
    worker, and complete runs whose messages are all done. Returns the ids of the runs to
    start, committed: the caller queues ``start_run`` for each (the task, after commit).
    The action knows nothing of Celery, so tasks import actions and never the reverse."""
    now = now or timezone.now()
    with transaction.atomic():
        due = (
            Campaign.objects.select_for_update(skip_locked=True)
            .filter(status__in=[Status.SCHEDULED, Status.RUNNING], next_run_at__isnull=False)
            .filter(Q(next_run_at__lte=now) | Q(user_timezone=True, next_run_at__lte=now + USER_TIMEZONE_LEAD))
            .order_by("next_run_at")[:CLAIM_BATCH]
        )
        queued = []
        for campaign in due:
            queued += _fire(campaign, now)
        queued += _waiting_runs(now, exclude=queued)
    do_complete_finished_runs(now=now)
    return queued


def _fire(campaign, now):
    """Runs for every firing of ``campaign`` due at ``now``; the schedule row advanced."""
    firings = []
    planned = campaign.next_run_at
    while planned is not None and fires_at(campaign, planned) <= now and len(firings) < MAX_MISSED:
        firings.append(planned)
        planned = next_firing(campaign, after=planned + timedelta(microseconds=1))
    if not firings:
        return []
    # update(), not save(): auto_now would move the campaign up the list on every firing.
    Campaign.objects.filter(pk=campaign.pk).update(next_run_at=planned)
    campaign.next_run_at = planned
    *older, latest = firings
    for moment in older:
        _create_run(campaign, moment, _missed_reason(campaign, moment, now) or SUPERSEDED, now)
    reason = _missed_reason(campaign, latest, now)
    run, created = _create_run(campaign, latest, reason, now)
    if reason or not created:
        settle_campaign(campaign, now=now)
        return []
    return [run.pk]


def _create_run(campaign, planned, skipped_reason, now):
    if skipped_reason:
        defaults = {"status": RunStatus.SKIPPED, "skipped_reason": skipped_reason, "finished_at": now}
    else:
        defaults = {"status": RunStatus.PLANNED}
    return CampaignRun.objects.get_or_create(campaign=campaign, planned_at=planned, defaults=defaults)


def _waiting_runs(now, exclude):
    """Planned runs of scheduled or running campaigns that no worker has picked up."""
    waiting = CampaignRun.objects.filter(
        status=RunStatus.PLANNED,
        campaign__status__in=[Status.SCHEDULED, Status.RUNNING],
        created_at__lte=now - RESTART_AFTER,
    ).exclude(pk__in=exclude)
    return list(waiting.values_list("pk", flat=True)[:CLAIM_BATCH])


def do_complete_finished_runs(*, now=None):
    """Running runs whose dispatches are done (an A/B run: after its winner went to the
    rest) are completed; so is a campaign with nothing left to run. Returns how many."""
    now = now or timezone.now()
    done = Q(dispatch__status="done") & (Q(remainder__isnull=True) | Q(remainder__status="done"))
    finished = CampaignRun.objects.filter(done, status=RunStatus.RUNNING).exclude(
        ab_ends_at__isnull=False, winner_picked_at__isnull=True
    )
    count = 0
    for run_id, campaign_id in finished.values_list("pk", "campaign_id")[:CLAIM_BATCH]:
        with transaction.atomic():
            campaign = Campaign.objects.select_for_update(skip_locked=True).filter(pk=campaign_id).first()
            if campaign is None:
                continue  # a marketer is changing it this moment: the next tick finishes it
            count += CampaignRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
                status=RunStatus.COMPLETED, finished_at=now
            )
            settle_campaign(campaign, now=now)
    return count


def settle_campaign(campaign, *, now):
    """With no run in progress: a campaign with a next firing waits for it (scheduled); one
    without is over (completed, or stopped when its last run was stopped or failed). The
    caller holds the campaign's row lock."""
    if campaign.status not in (Status.SCHEDULED, Status.RUNNING) or campaign.is_live:
        return  # a live campaign runs on between its runs: campaigns/live completes it
    if campaign.runs.filter(status__in=ACTIVE).exists():
        return
    if campaign.next_run_at is not None:
        status, ended_at = Status.SCHEDULED, None
    else:
        last = campaign.runs.order_by("-planned_at").first()
        stopped = last is not None and last.status in (RunStatus.STOPPED, RunStatus.FAILED)
        status, ended_at = (Status.STOPPED if stopped else Status.COMPLETED), now
    if status != campaign.status:
        Campaign.objects.filter(pk=campaign.pk).update(status=status, ended_at=ended_at, updated_at=now)
        if ended_at:  # over: Clarion itself (no user) ended it, and the audit log says so
            audit.record(None, status, campaign, audit.status_change(campaign.status, status))
        campaign.status, campaign.ended_at = status, ended_at
