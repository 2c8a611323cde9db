"""A campaign's life after the wizard: schedule (or publish), pause, resume, stop,
unschedule, archive, restore and duplicate (changes to a scheduled or running campaign's
What, limits and schedule: ``campaigns/actions/changes.py``, allowed by ``TRANSITIONS["change"]``).

Every state change is one function here; views, tasks, the admin and the API call
them and show a refused one's ``LifecycleError`` message. Each records who made it
(``user``; None is Clarion itself) in the audit log, in the same transaction. Each locks the campaign row
(``select_for_update``) inside a transaction and checks ``TRANSITIONS`` against the
status it finds under the lock, so two marketers pressing Pause and Stop at once get
one change and one clear refusal, never a mix.
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts import audit
from campaigns import schedule, targeting
from campaigns.actions import forecast, lint
from campaigns.models import Campaign, CampaignRun, Variant
from delivery.actions import dispatches
from delivery.content import check as check_liquid
from segments.models import Segment

log = logging.getLogger(__name__)
Status = Campaign.Status
Step = Campaign.Step

# action -> the statuses it may start from. Where it goes is decided by the action
# (schedule: scheduled, or running for live kinds; resume: where it was paused from).
TRANSITIONS = {
    "schedule": {Status.DRAFT},
    "pause": {Status.SCHEDULED, Status.RUNNING},
    "resume": {Status.PAUSED},
    "stop": {Status.SCHEDULED, Status.RUNNING, Status.PAUSED},
    "unschedule": {Status.SCHEDULED},
    # A live campaign that reached its total cap or its end (campaigns/live).
    "complete": {Status.RUNNING},
    # A paused campaign still holds queued messages and can resume: stop it first.
    "archive": {Status.DRAFT, Status.COMPLETED, Status.STOPPED},
    # Back from the archive to the list, in the status it was archived with (archiving
    # never changes the status: only those three can be archived).
    "restore": {Status.DRAFT, Status.COMPLETED, Status.STOPPED},
    # A change of What, limits or schedule through its confirmation; a draft is simply edited.
    "change": {Status.SCHEDULED, Status.RUNNING, Status.PAUSED},
    "duplicate": set(Status),
}
VERBS = {
    "schedule": "scheduled",
    "pause": "paused",
    "resume": "resumed",
    "stop": "stopped",
    "unschedule": "unscheduled",
    "complete": "completed",
    "archive": "archived",
    "restore": "restored",
    "change": "changed",
    "duplicate": "duplicated",
}
# Runs that are still doing something, and what pause / resume / stop make of them.
ACTIVE_RUNS = {CampaignRun.Status.PLANNED, CampaignRun.Status.RUNNING, CampaignRun.Status.PAUSED}

MAX_CONTROL_GROUP = 50


class LifecycleError(Exception):
    """A refused state change; ``str()`` is the message to show the marketer."""


class NeedsSendAnyway(LifecycleError):
    """Refused: the personalisation lint found something and "Send anyway" was not ticked.
    ``report`` is the lint's ``Report``, for the page to show."""

    def __init__(self, report):
        count = len(report.findings)
        super().__init__(
            f"The personalisation check found {count} problem{'s' if count != 1 else ''} in a sample of "
            f"{report.sampled:,} people: fix {'them' if count != 1 else 'it'}, or tick “Send anyway”."
        )
        self.report = report


@dataclass(frozen=True)
class Problem:
    """Something that keeps a campaign from being scheduled, and the step that fixes it."""

    step: str
    message: str


def allowed(campaign, action):
    """Whether ``action`` may be applied to ``campaign`` as it is now (for showing buttons)."""
    if action == "archive" and campaign.archived_at:
        return False
    if action == "restore" and not campaign.archived_at:
        return False
    if action == "unschedule" and campaign.runs.exists():
        return False
    return campaign.status in TRANSITIONS[action]


def problems(campaign, *, now=None):
    """Every reason ``campaign`` cannot be scheduled yet, each with the step to fix it."""
    now = now or timezone.now()
    found = []
    labels = dict(Step.choices)
    for step in (Step.WHO, Step.WHEN, Step.WHAT, Step.SETUP):
        if step not in campaign.steps_done:
            found.append(Problem(step, f"{labels[step]} is not done yet."))
    found += _who_problems(campaign)
    found += _when_problems(campaign, now)
    found += _what_problems(campaign)
    found += _setup_problems(campaign)
    order = [Step.WHO, Step.WHEN, Step.WHAT, Step.SETUP]
    return sorted(found, key=lambda problem: order.index(problem.step))


def check_ready(campaign, *, now=None):
    """The messages of ``problems``: empty when the campaign can be scheduled."""
    return [problem.message for problem in problems(campaign, now=now)]


def _who_problems(campaign):
    found = []
    if campaign.channel == Campaign.Channel.EXIT_INTENT:
        if campaign.segment_id is None and not campaign.exit_trigger:
            found.append(Problem(Step.WHO, "Choose who sees the pop-up: a segment or a targeting rule."))
        if not campaign.sites.exists():
            found.append(Problem(Step.WHO, "Choose the website(s) whose pages show the pop-up."))
    elif campaign.segment_id is None and not campaign.is_live:
        # A live campaign may go to everyone who does its trigger (Who's "everyone").
        found.append(Problem(Step.WHO, "Choose a segment, or build one in place."))
    if targeting.target_of(campaign) in (Campaign.TargetDevices.APPS, Campaign.TargetDevices.ALL) and not (
        campaign.platforms
    ):
        found.append(Problem(Step.WHO, "Choose Android, iOS or both."))
    if campaign.reach_mode == Campaign.ReachMode.CAP and not campaign.target_cap:
        found.append(Problem(Step.WHO, "Say how many people to send to at random."))
    return found


def _when_problems(campaign, now):
    Kind = Campaign.Kind
    found = []
    kind = campaign.kind
    if kind == Kind.ONE_TIME:
        if campaign.send_at is None and not campaign.send_now:
            found.append(Problem(Step.WHEN, "Choose when to send it."))
        elif schedule.passed(campaign, now):
            # Overview offers the fix in place (campaigns/views/overview.py): send now or a new time.
            found.append(Problem(Step.WHEN, "Its send time has passed: send it now or choose a later time."))
    elif kind == Kind.MULTIPLE_DATES:
        if not campaign.dates:
            found.append(Problem(Step.WHEN, "Add the dates and times to send it."))
        elif all(_parse(value) is None or _parse(value) <= now for value in campaign.dates):
            found.append(Problem(Step.WHEN, "All its dates have passed: add a later one."))
    elif kind == Kind.RECURRING:
        if not campaign.repeat or campaign.send_time is None:
            found.append(Problem(Step.WHEN, "Choose how often it repeats and at what time."))
        elif campaign.repeat == Campaign.Repeat.WEEKLY and not campaign.weekdays:
            found.append(Problem(Step.WHEN, "Choose the days of the week it runs on."))
        elif campaign.repeat == Campaign.Repeat.MONTHLY and not campaign.month_day:
            found.append(Problem(Step.WHEN, "Choose the day of the month it runs on."))
        elif not schedule.upcoming(campaign, after=now, count=1):
            found.append(Problem(Step.WHEN, "None of its runs is still ahead: check its start and end."))
    elif kind == Kind.API_TRIGGERED:
        pass  # sent when the API asks (campaigns/api.py): nothing to choose but its window
    elif campaign.channel == Campaign.Channel.PERMISSION_REQUEST:
        pass  # shown to browsers still at Ask (campaigns/onboarding.py): nothing but its window
    elif campaign.channel != Campaign.Channel.EXIT_INTENT or not campaign.exit_trigger:
        if not campaign.trigger_event:
            found.append(Problem(Step.WHEN, "Choose the event that triggers it."))
        if kind == Kind.INACTION and (not campaign.inaction_event or not campaign.inaction_minutes):
            found.append(Problem(Step.WHEN, "Choose the event that must not follow, and within how long."))
        if kind == Kind.DATE_PROPERTY and not campaign.date_property:
            found.append(Problem(Step.WHEN, "Choose the date property it is sent around."))
    if campaign.starts_at and campaign.ends_at and campaign.ends_at <= campaign.starts_at:
        found.append(Problem(Step.WHEN, "It ends before it starts."))
    elif campaign.ends_at and campaign.ends_at <= now:
        found.append(Problem(Step.WHEN, "Its end has passed."))
    return found


def _what_problems(campaign):
    found = []
    variants = list(campaign.variants.all())
    if not variants:
        return [Problem(Step.WHAT, "Write the message.")]
    for variant in variants:
        content = variant.content or {}
        name = f"Message {variant.name}" if len(variants) > 1 else "The message"
        if campaign.channel == Campaign.Channel.EXIT_INTENT:
            if not (content.get("title") or content.get("body")):
                found.append(Problem(Step.WHAT, f"{name} needs a title or a text."))
        elif not content.get("title") or not content.get("body"):
            found.append(Problem(Step.WHAT, f"{name} needs a title and a body."))
        if check_liquid(content):
            found.append(Problem(Step.WHAT, f"{name} has a personalisation tag that does not parse."))
        # Target devices changed in Who after the message was written (campaigns/targeting.py).
        for why in targeting.content_problems(campaign, content).values():
            found.append(Problem(Step.WHAT, f"{name}: {why}"))
    if campaign.message_type == Campaign.MessageType.AB and len(variants) < 2:
        found.append(Problem(Step.WHAT, "An A/B test needs at least two variants."))
    if campaign.message_type == Campaign.MessageType.BY_PROPERTY and not campaign.property_name:
        found.append(Problem(Step.WHAT, "Choose the user property that picks the message."))
    return found


def _setup_problems(campaign):
    found = []
    if not 0 <= campaign.control_group_percent <= MAX_CONTROL_GROUP:
        found.append(Problem(Step.SETUP, f"The control group must be 0 to {MAX_CONTROL_GROUP} %."))
    if campaign.goal_event and not campaign.goal_window_minutes:
        found.append(Problem(Step.SETUP, "Say how long after the message a conversion counts."))
    return found


def _parse(value):
    try:
        return parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return None


def lock(campaign, action):
    """For actions kept elsewhere (``changes``): the campaign's row, locked, once ``action``
    is allowed from the status found under the lock (``LifecycleError`` if not)."""
    return _locked(campaign, action)


def _locked(campaign, action):
    """The campaign's row, locked, after checking ``action`` is allowed from its status."""
    fresh = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if fresh.status not in TRANSITIONS[action]:
        raise LifecycleError(f"“{fresh.name}” is {fresh.get_status_display().lower()}: it cannot be {VERBS[action]}.")
    return fresh


def _refresh(campaign, fresh):
    """Copy the saved state back onto the caller's object, so it sees what happened."""
    for field in ("status", "scheduled_at", "started_at", "ended_at", "archived_at", "next_run_at", "updated_at"):
        setattr(campaign, field, getattr(fresh, field))
    return campaign


def check_lint(report, *, send_anyway):
    """The gate every schedule and publish passes (issue 17): a campaign whose personalisation
    lint (``campaigns/actions/lint.py``) found something goes only with "Send anyway" ticked. The
    audit detail it adds when it lets one through (empty when there was nothing to accept)."""
    if not report:
        return ""
    if not send_anyway:
        raise NeedsSendAnyway(report)
    return f"; sent anyway past the personalisation check ({report.sampled:,} sampled: {report.summary()})"


def do_schedule(campaign, *, user, now=None, send_anyway=False):
    """Schedule a past-behaviour campaign (draft -> scheduled) or publish a live or
    exit-intent one (draft -> running). Refused with every problem when it is not ready,
    and when the personalisation lint finds something unless ``send_anyway``."""
    now = now or timezone.now()
    # Rendered before the row is locked: a Linked Content fetch may take seconds.
    report = lint.lint(campaign, now=now)
    with transaction.atomic():
        fresh = _locked(campaign, "schedule")
        found = check_ready(fresh, now=now)
        if found:
            raise LifecycleError("It cannot be scheduled yet: " + " ".join(found))
        accepted = check_lint(report, send_anyway=send_anyway)
        before, fresh.scheduled_at = fresh.status, now
        if fresh.is_live or fresh.channel == Campaign.Channel.EXIT_INTENT:
            fresh.status, fresh.started_at = Status.RUNNING, now
        else:
            # The schedule row the dispatcher claims (DESIGN.md "How a scheduled run flows");
            # each firing advances it to the next (campaigns/actions/dispatcher.py).
            fresh.status = Status.SCHEDULED
            found = schedule.upcoming(fresh, after=now, count=1)
            fresh.next_run_at = found[0] if found else None
        fresh.save(update_fields=["status", "scheduled_at", "started_at", "next_run_at", "updated_at"])
        audit.record(user, VERBS["schedule"], fresh, audit.status_change(before, fresh.status) + accepted)
    # Kept to show beside what its first run does (issue 17); made after the commit, outside
    # the row's lock: for a million people it takes seconds (bench/forecast.py). The campaign
    # is scheduled whatever happens here: a forecast that fails is logged, and the campaign
    # page then makes one live (forecast.panel).
    try:
        forecast.do_record(fresh, now=now)
    except Exception:
        log.exception("The forecast of campaign %s could not be kept; it is scheduled without one", fresh.pk)
    return _refresh(campaign, fresh)


def do_pause(campaign, *, user=None, now=None):
    """Scheduled or running -> paused: no run starts and nothing more is sent; queued rows wait."""
    with transaction.atomic():
        fresh = _locked(campaign, "pause")
        before, fresh.status = fresh.status, Status.PAUSED
        fresh.save(update_fields=["status", "updated_at"])
        _audit(user, "pause", fresh, before)
        for run in _runs(fresh, {CampaignRun.Status.RUNNING}):
            run.status = CampaignRun.Status.PAUSED
            run.save(update_fields=["status"])
            _dispatch_action(run, "pause")
    return _refresh(campaign, fresh)


def do_resume(campaign, *, user=None, now=None):
    """Paused -> where it was paused from: running (a live campaign, or a run in
    progress) or scheduled (waiting for its next firing)."""
    with transaction.atomic():
        fresh = _locked(campaign, "resume")
        paused_runs = _runs(fresh, {CampaignRun.Status.PAUSED})
        running = fresh.is_live or fresh.channel == Campaign.Channel.EXIT_INTENT or bool(paused_runs)
        before, fresh.status = fresh.status, Status.RUNNING if running else Status.SCHEDULED
        fresh.save(update_fields=["status", "updated_at"])
        _audit(user, "resume", fresh, before)
        for run in paused_runs:
            run.status = CampaignRun.Status.RUNNING
            run.save(update_fields=["status"])
            _dispatch_action(run, "resume")
    return _refresh(campaign, fresh)


def do_stop(campaign, *, user=None, now=None):
    """Scheduled, running or paused -> stopped for good: no further run, queued rows dropped."""
    now = now or timezone.now()
    with transaction.atomic():
        fresh = _locked(campaign, "stop")
        before = fresh.status
        fresh.status, fresh.ended_at, fresh.next_run_at = Status.STOPPED, now, None
        fresh.save(update_fields=["status", "ended_at", "next_run_at", "updated_at"])
        _audit(user, "stop", fresh, before)
        for run in _runs(fresh, ACTIVE_RUNS):
            run.status = CampaignRun.Status.STOPPED
            run.finished_at = now
            if not run.started_at:
                run.skipped_reason = "The campaign was stopped before this run started."
            run.save(update_fields=["status", "finished_at", "skipped_reason"])
            _dispatch_action(run, "stop")
    return _refresh(campaign, fresh)


def do_complete(campaign, *, user=None, now=None):
    """Running -> completed: a live campaign that reached its total cap or its end. Nothing
    new is triggered; what its runs already queued still goes."""
    now = now or timezone.now()
    with transaction.atomic():
        fresh = _locked(campaign, "complete")
        before, fresh.status, fresh.ended_at = fresh.status, Status.COMPLETED, now
        fresh.save(update_fields=["status", "ended_at", "updated_at"])
        _audit(user, "complete", fresh, before)
    return _refresh(campaign, fresh)


def do_unschedule(campaign, *, user=None, now=None):
    """Scheduled -> draft again, so it can be edited; only before its first run (after
    that, its runs belong to what it was when they ran)."""
    with transaction.atomic():
        fresh = _locked(campaign, "unschedule")
        if fresh.runs.exists():
            raise LifecycleError(f"“{fresh.name}” has already run: pause or stop it instead, or duplicate it.")
        before = fresh.status
        fresh.status, fresh.scheduled_at, fresh.next_run_at = Status.DRAFT, None, None
        fresh.save(update_fields=["status", "scheduled_at", "next_run_at", "updated_at"])
        _audit(user, "unschedule", fresh, before)
    return _refresh(campaign, fresh)


def do_archive(campaign, *, user=None, now=None):
    """Hide a campaign that is not going anywhere (a draft, completed or stopped) from the list."""
    now = now or timezone.now()
    with transaction.atomic():
        fresh = _locked(campaign, "archive")
        if fresh.archived_at:
            raise LifecycleError(f"“{fresh.name}” is already archived.")
        fresh.archived_at = now
        fresh.save(update_fields=["archived_at", "updated_at"])
        audit.record(user, audit.Verb.ARCHIVED, fresh, f"hidden from the list (status {fresh.status})")
    return _refresh(campaign, fresh)


def do_restore(campaign, *, user=None, now=None):
    """Bring an archived campaign back to the list, as it was: a draft can be edited again,
    a completed or stopped one duplicated. Its status is the one it was archived with."""
    with transaction.atomic():
        fresh = _locked(campaign, "restore")
        if not fresh.archived_at:
            raise LifecycleError(f"“{fresh.name}” is not archived.")
        fresh.archived_at = None
        fresh.save(update_fields=["archived_at", "updated_at"])
        # accounts' Verb has no "restored" (a new choice is an accounts migration): a change.
        audit.record(user, audit.Verb.CHANGED, fresh, f"restored from the archive (status {fresh.status})")
    return _refresh(campaign, fresh)


def do_duplicate(campaign, *, user):
    """A new draft "Copy of …" with the same fields, variants and labels, and its own
    copy of an ad-hoc segment (a saved segment is shared). It has no runs and belongs
    to ``user``."""
    with transaction.atomic():
        source = Campaign.objects.select_for_update(of=("self",)).select_related("segment").get(pk=campaign.pk)
        copy = Campaign.objects.get(pk=source.pk)
        copy.pk = None
        copy._state.adding = True
        copy.name = f"Copy of {source.name}"[: Campaign._meta.get_field("name").max_length]
        copy.owner = user
        copy.status = Status.DRAFT
        copy.scheduled_at = copy.started_at = copy.ended_at = copy.archived_at = copy.next_run_at = None
        if source.segment and source.segment.is_adhoc:
            copy.segment = _copy_segment(source.segment, owner=user)
        copy.save()
        copy.labels.set(source.labels.all())
        Variant.objects.bulk_create(
            Variant(
                campaign=copy,
                position=variant.position,
                name=variant.name,
                property_value=variant.property_value,
                is_fallback=variant.is_fallback,
                share=variant.share,
                content=variant.content,
            )
            for variant in source.variants.all()
        )
        audit.record(user, audit.Verb.DUPLICATED, source, f"copied as “{copy.name}” (#{copy.pk})")
        audit.record(user, audit.Verb.CREATED, copy, f"a copy of “{source.name}” (#{source.pk})")
    return copy


def _copy_segment(segment, *, owner):
    return Segment.objects.create(
        name=segment.name,
        description=segment.description,
        rules=segment.rules,
        owner=owner,
        is_adhoc=True,
        last_reach=segment.last_reach,
        last_reachable=segment.last_reachable,
        last_computed_at=segment.last_computed_at,
    )


def _audit(user, action, campaign, before):
    audit.record(user, VERBS[action], campaign, audit.status_change(before, campaign.status))


def _runs(campaign, statuses):
    return list(
        campaign.runs.select_for_update(of=("self",))
        .filter(status__in=statuses)
        .select_related("dispatch", "remainder")
    )


def _dispatch_action(run, action):
    """Pause, resume or stop the run's delivery ``Dispatch`` with it (stopping drops
    what is queued or held, coded "stopped"), and an A/B run's remainder kept for the
    winner (not started until the winner is picked: pause and resume leave it waiting)."""
    for dispatch in (run.dispatch, run.remainder):
        if dispatch is not None:
            {"pause": dispatches.do_pause, "resume": dispatches.do_resume, "stop": dispatches.do_stop}[action](dispatch)
