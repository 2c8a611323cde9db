"""Starting a scheduled run: ``do_start_run`` evaluates its audience and writes its messages
(DESIGN.md "How a scheduled run flows"; the dispatcher that creates runs:
``campaigns/actions/dispatcher.py``).

``do_start_run`` is safe to run twice: it claims the run (planned -> running) in a short
transaction, then evaluates the audience and writes the messages in a second one that locks
the run and does nothing if another attempt already did it. The audience is streamed in
profile id order, a page at a time, and every random choice (control group, target cap,
A/B test population, variants) is drawn from a generator seeded by the run
(``campaigns.allocation``), so memory does not grow with the audience and a retried run
chooses the same people.
"""

import logging
import random
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from campaigns import emails, schedule
from campaigns.actions.dispatcher import rules_for, settle_campaign, wall_time
from campaigns.allocation import Plan, Sample, property_column, property_value
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
DEFAULT_AB_MINUTES = 24 * 60


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
    label = f"{campaign.name} — run of {wall_time(run.planned_at, schedule.zone(campaign.timezone))}"
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
        self.column = property_column(self.property)

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
            if self.column and self.column != "timezone":
                fields.append(self.column)
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
        column = row[1] if self.column == "timezone" else row[3] if len(row) > 3 else None
        return property_value(self.property, row[2], column)

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
