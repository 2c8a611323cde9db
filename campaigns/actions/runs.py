"""Scheduled runs (DESIGN.md "How a scheduled run flows"): firing due campaigns, starting a
run, and completing runs and campaigns.

``Campaign.next_run_at`` is the schedule row: the next planned time of a scheduled one-time,
multi-date or recurring campaign. The dispatcher (beat, every 5 s) claims the due ones with
``select_for_update(skip_locked=True)``, creates one ``CampaignRun`` per campaign and planned
time (unique, so a second beat process or a repeated tick cannot double it), advances
``next_run_at`` and queues ``start_run`` when its transaction commits.

``do_start_run`` is safe to run twice: it claims the run (planned -> running) in a short
transaction, then evaluates the audience and writes the messages in a second one that locks
the run and does nothing if another attempt already did it. The audience is streamed in
profile id order, a page at a time, and every random choice (control group, target cap,
A/B test population, variants) is drawn from a generator seeded by the run, so memory does
not grow with the audience and a retried run chooses the same people.
"""

import logging
import random
from datetime import UTC, datetime, timedelta
from datetime import timezone as fixed_offset

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts import audit
from campaigns import emails, schedule
from campaigns.actions.plans import Plan, Sample
from campaigns.models import Campaign, CampaignRun, ControlMember
from campaigns.models.versions import current_version
from delivery.actions import dispatches
from delivery.actions.limits import Rules
from delivery.actions.sending import safari_left_out
from segments.models import Device
from segments.rules import tree as rule_tree
from segments.rules.compiler import profiles, reachable_devices

log = logging.getLogger(__name__)

Status = Campaign.Status
RunStatus = CampaignRun.Status

PAGE = 2000  # profiles read per query while a run streams its audience
CLAIM_BATCH = 50  # campaigns one dispatcher tick fires at most; the next tick takes the rest
MAX_MISSED = 1000  # firings of one campaign looked at in one tick (a daily one down for ~3 years)
# A planned run not picked up by a worker this long after it was created (its task was
# lost, or its campaign was paused and has been resumed) is queued again.
RESTART_AFTER = timedelta(seconds=60)
DEFAULT_AB_MINUTES = 24 * 60
# "Deliver in the user's time zone": the planned wall time comes first at UTC+14 and last
# at UTC-12, so a run starts when it is that time at UTC+14 and keeps its cut-off until it
# is the cut-off time at UTC-12.
EARLIEST_ZONE = fixed_offset(timedelta(hours=14))
LATEST_ZONE = fixed_offset(timedelta(hours=-12))
USER_TIMEZONE_LEAD = timedelta(hours=26)  # the most a run starts before its planned time
# Built-in profile fields a "one message per property value" campaign may use besides its
# custom properties.
PROFILE_FIELDS = ("language", "country", "region", "city", "gender", "timezone")

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
    """The delivery rules of the run planned for ``planned`` (keys: delivery/actions/dispatches.py)."""
    tz = schedule.zone(campaign.timezone)
    rules = {"timezone": tz.key, "skip_global_limits": campaign.skip_global_limits}
    if campaign.dnd_enabled and campaign.dnd_start and campaign.dnd_end:
        rules["dnd"] = {
            "start": campaign.dnd_start.strftime("%H:%M"),
            "end": campaign.dnd_end.strftime("%H:%M"),
            "action": campaign.dnd_action,
        }
    cutoff = cutoff_for(campaign, planned)
    if cutoff:
        rules["cutoff"] = cutoff.isoformat()
    if campaign.user_timezone:
        rules["user_timezone_at"] = schedule.local(planned, tz).isoformat()
    return rules


def _missed_reason(campaign, planned, now):
    """Why a firing found due at ``now`` is not run any more, or "" when it still runs."""
    tz = schedule.zone(campaign.timezone)
    due = f"It was due {_at(planned, tz)}"
    if campaign.ends_at and now > campaign.ends_at:
        return f"{due}; the campaign ended {_at(campaign.ends_at, tz)} before the scheduler could start it."
    cutoff = cutoff_for(campaign, planned)
    if cutoff and now >= cutoff:
        return f"{due}; its cut-off ({_at(cutoff, tz)}) had passed when the scheduler could start it."
    return ""


def _at(moment, tz):
    return f"{moment.astimezone(tz):%d %b %Y %H:%M} {tz.key}"


# --- the dispatcher ---------------------------------------------------------------------


def do_dispatch_due(*, now=None):
    """One dispatcher tick: fire the due campaigns, queue planned runs that are waiting for a
    worker, and complete runs whose messages are all done. Returns the ids of the runs it
    queued (``start_run`` is queued for each once this transaction commits)."""
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
        _queue_start(queued)
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


def _queue_start(run_ids):
    if not run_ids:
        return
    from campaigns.tasks import start_run  # the tasks module imports this one

    transaction.on_commit(lambda: [start_run.delay(pk) for pk in run_ids])


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


# --- starting a run ---------------------------------------------------------------------


def do_start_run(run_id, *, now=None):
    """Evaluate the run's audience and send it (see the module docstring). Returns the run,
    or None when there is no such run. A run of a paused campaign stays planned."""
    now = now or timezone.now()
    with transaction.atomic():
        run = CampaignRun.objects.filter(pk=run_id).first()
        if run is None:
            return None
        campaign = Campaign.objects.select_for_update().get(pk=run.campaign_id)
        run = CampaignRun.objects.select_for_update().get(pk=run_id)
        if run.status == RunStatus.PLANNED:
            if campaign.status not in (Status.SCHEDULED, Status.RUNNING):
                return run  # paused: it starts when the campaign is resumed (the dispatcher queues it)
            run.status, run.started_at = RunStatus.RUNNING, now
            run.save(update_fields=["status", "started_at"])
            Campaign.objects.filter(pk=campaign.pk).update(
                status=Status.RUNNING, started_at=campaign.started_at or now, updated_at=now
            )
        elif run.status not in (RunStatus.RUNNING, RunStatus.PAUSED) or run.qualified is not None:
            return run  # done already, by this task earlier or by another
    try:
        with transaction.atomic():
            campaign = (
                Campaign.objects.select_for_update(of=("self",))
                .select_related("segment", "owner")
                .get(pk=run.campaign_id)
            )
            run = CampaignRun.objects.select_for_update().get(pk=run_id)
            if run.status not in (RunStatus.RUNNING, RunStatus.PAUSED) or run.qualified is not None:
                return run
            _send(run, campaign, now)
    except Exception as error:
        # Whatever it was (a segment saved with a rule the parser now refuses, a database
        # error), the run must not stay Running with nothing sent and no reason given: what
        # it wrote is rolled back whole, and it fails, saying why, to the page and the owner.
        log.exception("run %s of campaign %s could not start", run_id, run.campaign_id)
        return do_fail_run(run_id, f"The run could not start: {_first_line(error)}", now=now)
    return run


def do_fail_run(run_id, reason, *, now):
    """End a run that could not start as Failed with ``reason``, and email its owner."""
    with transaction.atomic():
        campaign_id = CampaignRun.objects.values_list("campaign_id", flat=True).get(pk=run_id)
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)  # campaign, then run
        run = CampaignRun.objects.select_for_update().get(pk=run_id)
        if run.status in (RunStatus.RUNNING, RunStatus.PAUSED) and run.qualified is None:
            _stop(run, campaign, now, reason, status=RunStatus.FAILED)
            transaction.on_commit(lambda: emails.send_run_failed(run.pk), robust=True)  # a mail outage keeps the mark
    return run


def _first_line(error):
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _send(run, campaign, now):
    if campaign.segment is None:
        return _stop(run, campaign, now, "The campaign has no segment: nobody to send to.")
    audience = Audience(campaign, now)
    run.qualified = audience.count()
    if campaign.safety_limit is not None and run.qualified > campaign.safety_limit:
        _stop(
            run,
            campaign,
            now,
            f"Safety check: {run.qualified} people were reachable, more than the limit of {campaign.safety_limit}. "
            "Nothing was sent, and the owner was emailed.",
        )
        transaction.on_commit(lambda: emails.send_safety_check(run.pk))
        return run
    if run.qualified == 0:
        run.targeted, run.status, run.finished_at = 0, RunStatus.COMPLETED, now
        run.note = "Nobody qualified for this run."
        run.save(update_fields=["qualified", "targeted", "status", "finished_at", "note"])
        settle_campaign(campaign, now=now)
        return run
    plan = Plan.make(campaign, run, run.qualified)
    contents = {key: variant.content for key, variant in plan.variants.items()}
    rules = rules_for(campaign, run.planned_at)
    label = f"{campaign.name} — run of {_at(run.planned_at, schedule.zone(campaign.timezone))}"
    version = current_version(campaign)
    dispatch = dispatches.do_create_dispatch(
        channel=campaign.channel, label=label, contents=contents, rules=rules, version=version
    )
    remainder = None
    if plan.keeps_remainder:
        remainder = dispatches.do_create_dispatch(
            channel=campaign.channel, label=f"{label} (A/B winner)", contents=contents, rules=rules, version=version
        )
    writer = Writer(run, campaign, plan, remainder, Rules.parse(rules), now)
    dispatches.do_enqueue(dispatch, writer.rows(audience))
    writer.flush_remainder()
    run.dispatch, run.remainder = dispatch, remainder
    run.targeted, run.note = writer.targeted, plan.note
    if remainder is not None:
        run.ab_ends_at = now + timedelta(minutes=campaign.ab_test_minutes or DEFAULT_AB_MINUTES)
    run.save(update_fields=["qualified", "targeted", "dispatch", "remainder", "note", "ab_ends_at"])
    dispatches.do_start(dispatch)
    if run.status == RunStatus.PAUSED:  # paused while its audience was being written
        dispatches.do_pause(dispatch)
    return run


def _stop(run, campaign, now, reason, status=RunStatus.STOPPED):
    run.status, run.finished_at, run.skipped_reason = status, now, reason[:300]
    run.save(update_fields=["qualified", "status", "finished_at", "skipped_reason"])
    settle_campaign(campaign, now=now)
    return run


class Audience:
    """The profiles a run qualifies, in id order: the segment's, with at least one device
    the campaign's channel can reach (web for web push, but for Safari when the message is
    for "All browsers but Safari"; the chosen platforms for mobile)."""

    def __init__(self, campaign, now):
        self.campaign = campaign
        tree = rule_tree.parse(campaign.segment.rules)
        self.devices = self._devices(campaign)
        self.profiles = profiles(tree, now=now).filter(Exists(self.devices.filter(profile=OuterRef("pk"))))
        self.property = campaign.property_name if campaign.message_type == Campaign.MessageType.BY_PROPERTY else ""

    @staticmethod
    def _devices(campaign):
        if campaign.channel == Campaign.Channel.WEB_PUSH:
            devices = reachable_devices("web")
            if safari_left_out({variant.pk: variant.content for variant in campaign.variants.all()}):
                devices = devices.exclude(browser=Device.Browser.SAFARI)
            return devices
        platforms = [p for p in campaign.platforms or [] if p in ("android", "ios")] or ["android", "ios"]
        return reachable_devices("any").filter(platform__in=platforms)

    def count(self):
        return self.profiles.count()

    def pages(self):
        """Lists of (profile id, time zone, property value), PAGE at a time, by id (keyset
        pages: each page's query starts after the last id of the one before). Only the
        columns needed are read: the JSON properties only for a message by property."""
        fields = ["pk", "timezone"]
        if self.property:
            fields.append("properties")
            if self.property in PROFILE_FIELDS and self.property != "timezone":
                fields.append(self.property)
        last = 0
        while True:
            page = list(self.profiles.filter(pk__gt=last).order_by("pk").values_list(*fields)[:PAGE])
            if not page:
                return
            last = page[-1][0]
            yield [(row[0], row[1], self._value(row)) for row in page]

    def _value(self, row):
        if not self.property:
            return None
        custom = row[2] if isinstance(row[2], dict) else {}
        if self.property in custom:
            return custom[self.property]
        if self.property == "timezone":
            return row[1]
        return row[3] if len(row) > 3 else None

    def device_rows(self, profile_ids):
        """(profile id, device id) of the reachable devices of ``profile_ids`` (ids of one
        page), by profile id. A dense page is read by the range of its ids and filtered in
        Python: a list of thousands of ids in the SQL costs more to send than the few
        devices the range reads besides; a sparse page (a narrow segment) keeps the list."""
        if not profile_ids:
            return []
        wanted = set(profile_ids)
        low, high = min(wanted), max(wanted)
        if high - low < 2 * len(wanted):
            rows = self.devices.filter(profile_id__gte=low, profile_id__lte=high)
        else:
            rows = self.devices.filter(profile_id__in=wanted)
        rows = rows.order_by("profile_id", "pk").values_list("profile_id", "pk")
        return [row for row in rows if row[0] in wanted]


class Writer:
    """Walks the audience once: holds out the control group (``ControlMember`` rows), takes
    the targeted people, gives each a variant and yields their devices' message rows for the
    run's dispatch; A/B rows kept for the winner go to the remainder dispatch."""

    def __init__(self, run, campaign, plan, remainder, rules, now):
        self.run, self.plan, self.remainder, self.rules = run, plan, remainder, rules
        self.started = now
        self.rng = random.Random(f"clarion-run-{run.pk}")  # noqa: S311 (a fair draw, not a secret)
        self.control = Sample(self.rng, plan.control, plan.qualified)
        self.target = Sample(self.rng, plan.targeted, plan.qualified - plan.control)
        self.choose = plan.chooser(self.rng)
        self.targeted = 0
        self.waiting = []  # remainder rows not written yet (at most one page's worth)
        self.user_timezone = bool(rules.user_timezone_at)

    def rows(self, audience):
        for page in audience.pages():
            held_out, chosen = [], {}
            for profile_id, tz, value in page:
                if self.control.take():
                    held_out.append(ControlMember(run=self.run, profile_id=profile_id))
                elif self.target.take() and (key := self.choose(value)) is not None:
                    chosen[profile_id] = (key, tz)
            ControlMember.objects.bulk_create(held_out, ignore_conflicts=True)
            self.targeted += len(chosen)
            for profile_id, device_id in audience.device_rows(list(chosen)):
                key, tz = chosen[profile_id]
                row = (profile_id, device_id, key, self._release(tz))
                if key:
                    yield row
                else:
                    self.waiting.append(row)
            if len(self.waiting) >= dispatches.CHUNK:
                self.flush_remainder()

    def flush_remainder(self):
        if self.waiting and self.remainder is not None:
            dispatches.do_enqueue(self.remainder, self.waiting)
        self.waiting = []

    def _release(self, tz):
        """A user-time-zone run: when the planned wall time comes in the profile's zone
        (None when it has passed: sent at once)."""
        if not self.user_timezone:
            return None
        release = self.rules.release_at(self.rules.zone_for(tz), self.started)
        return release if release and release > self.started else None
