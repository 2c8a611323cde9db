"""Starting a scheduled run: ``do_start_run`` evaluates its audience and writes its messages
(DESIGN.md "How a scheduled run flows"; the dispatcher that creates runs:
``campaigns/actions/dispatcher.py``).

``do_start_run`` is safe to run twice: it claims the run (planned -> running) in a short
transaction, then evaluates the audience and writes the messages in a second one that locks
the run and does nothing if another attempt already did it. Every choice (control group,
target cap, A/B test population, variants) is the run's draw (``campaigns.allocation.Draw``):
a rank per person from a hash seeded by the run, so a retried run chooses the same people.

On PostgreSQL the audience never comes into Python (``InDatabase``): the draw's cuts are
found by one sort in the database, then a few ``INSERT … SELECT`` statements, one per range
of profile ids, write the control group and the messages (starting a run for 1,000,000
profiles: bench/run.py). The embedded SQLite mode reads the audience a page at a time and
enqueues the rows (``Writer``); both give each person the same outcome
(campaigns/tests/test_run_draw.py).
"""

import json
import logging
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Exists, Max, Min, OuterRef
from django.db.models.expressions import RawSQL
from django.utils import timezone

from campaigns import emails, schedule, targeting
from campaigns.actions.dispatcher import rules_for, settle_campaign, wall_time
from campaigns.allocation import (
    BY_VALUE,
    CONTROL,
    SEND,
    WAIT,
    Draw,
    Plan,
    draw_key_sql,
    property_column,
    property_value,
    seed_number,
)
from campaigns.models import Campaign, CampaignRun, ControlMember
from campaigns.models.versions import current_version
from delivery.actions import dispatches
from delivery.actions.limits import Rules
from delivery.models import Message
from segments.models import Profile
from segments.rules import tree as rule_tree
from segments.rules.compiler import profiles

log = logging.getLogger(__name__)

Status = Campaign.Status
RunStatus = CampaignRun.Status

PAGE = 2000  # profiles read per query while a run streams its audience (SQLite)
ID_RANGE = 250_000  # profile ids per INSERT … SELECT (PostgreSQL)
MAX_VALUES = 10_000  # distinct property values mapped to variants in SQL, else a by-property run pages
SORT_MEMORY = "64MB"  # PostgreSQL's work_mem for a run's start (SET LOCAL, its transaction only)
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
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # The draw's sort of the whole audience and each write's sort of 250,000 rows
            # spilled to disk at the default 4 MB; for this transaction only.
            cursor.execute(f"SET LOCAL work_mem = '{SORT_MEMORY}'")
    draw = audience.draw(plan, draw_seed(run))
    writer = InDatabase if connection.vendor == "postgresql" else Writer
    writer = writer(run, plan, draw, dispatch, remainder, Rules.parse(rules), now)
    run.dispatch, run.remainder = dispatch, remainder
    run.targeted, run.note = writer.write(audience), plan.note
    if remainder is not None:
        run.ab_ends_at = now + timedelta(minutes=campaign.ab_test_minutes or DEFAULT_AB_MINUTES)
    run.save(update_fields=["qualified", "targeted", "dispatch", "remainder", "note", "ab_ends_at"])
    dispatches.do_start(dispatch)
    if run.status == RunStatus.PAUSED:  # paused while its audience was being written
        dispatches.do_pause(dispatch)
    return run


def draw_seed(run):
    """What the run's draw is seeded by: the same people each time the run is started."""
    return f"clarion-run-{run.pk}"


def _stop(run, campaign, now, reason, status=RunStatus.STOPPED):
    run.status, run.finished_at, run.skipped_reason = status, now, reason[:300]
    run.save(update_fields=["qualified", "status", "finished_at", "skipped_reason"])
    settle_campaign(campaign, now=now)
    return run


class Audience:
    """The profiles a run qualifies, in id order: the segment's, with at least one device
    the campaign reaches (``campaigns.targeting.devices``: its target devices — web, native
    apps or all — but for Safari when the message is for "All browsers but Safari")."""

    def __init__(self, campaign, now):
        self.campaign = campaign
        tree = rule_tree.parse(campaign.segment.rules)
        self.devices = self._devices(campaign)
        self.profiles = profiles(tree, now=now).filter(Exists(self.devices.filter(profile=OuterRef("pk"))))
        self.property = campaign.property_name if campaign.message_type == Campaign.MessageType.BY_PROPERTY else ""
        self.column = property_column(self.property)

    @staticmethod
    def _devices(campaign):
        return targeting.devices(campaign)

    def count(self):
        return self.profiles.count()

    def draw(self, plan, seed):
        """The run's draw (``allocation.Draw``): its cuts ranked in the database on
        PostgreSQL, in memory on SQLite."""
        spans = plan.spans()
        if len(spans) < 2:
            return Draw(seed, spans, [])
        if connection.vendor != "postgresql":
            return Draw(seed, spans, Draw.cuts(seed, spans, self.profiles.values_list("pk", flat=True).iterator()))
        ids, params = self.profiles.values("id").query.sql_with_params()
        sql, more = Draw.cuts_sql(spans, ids)
        with connection.cursor() as cursor:
            cursor.execute(sql, [seed_number(seed), *params, *more])
            return Draw(seed, spans, cursor.fetchall())

    def rows_sql(self):
        """(SQL, parameters) of the audience's ``id``, ``timezone`` and ``value``: for a
        message by property, the person's value as ``property_value`` reads it, as JSON
        ('null' for none); NULL otherwise."""
        value = "NULL::jsonb"
        params = []
        if self.property:
            table = Profile._meta.db_table
            column = f'to_jsonb("{table}"."{self.column}")' if self.column else "NULL"
            value = (
                f"""CASE WHEN jsonb_typeof("{table}"."properties") = 'object' AND "{table}"."properties" ? %s"""
                f""" THEN "{table}"."properties" -> %s ELSE coalesce({column}, 'null'::jsonb) END"""
            )
            params = [self.property, self.property]
        # The column is one of PROPERTY_FIELDS and the table ours; the name is a parameter.
        rows = self.profiles.annotate(value=RawSQL(value, params)).values("id", "timezone", "value")  # noqa: S611
        return rows.query.sql_with_params()

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
    """The embedded (SQLite) way: walks the audience a page at a time, holds out the control
    group (``ControlMember`` rows), gives each targeted person their variant by the run's
    draw and enqueues their devices' message rows; A/B rows kept for the winner go to the
    remainder dispatch."""

    def __init__(self, run, plan, draw, dispatch, remainder, rules, now):
        self.run, self.plan, self.draw, self.rules = run, plan, draw, rules
        self.dispatch, self.remainder = dispatch, remainder
        self.started = now
        self.targeted = 0
        self.waiting = []  # remainder rows not written yet (at most one page's worth)
        self.user_timezone = bool(rules.user_timezone_at)

    def write(self, audience):
        """Returns how many people were targeted."""
        dispatches.do_enqueue(self.dispatch, self.rows(audience))
        self.flush_remainder()
        return self.targeted

    def rows(self, audience):
        for page in audience.pages():
            held_out, chosen = [], {}
            for profile_id, tz, value in page:
                span = self.draw.span(profile_id)
                if span.outcome == CONTROL:
                    held_out.append(ControlMember(run=self.run, profile_id=profile_id))
                elif (key := self.plan.key(span, value)) is not None:
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


class InDatabase:
    """The PostgreSQL way: the same outcomes as ``Writer``, written by the database. Per
    range of ``ID_RANGE`` profile ids, one statement computes each person's span of the draw
    (``Draw.span_sql``), inserts the control group's ``ControlMember`` rows and one message
    per reachable device of each targeted person, in the run's dispatch or the A/B
    remainder. What Python still decides it decides per distinct value, not per person: the
    release time of each time zone in the audience (a user-time-zone run) and the variant of
    each property value (a message by property; more than ``MAX_VALUES`` values, and the
    run pages through Python as ``Writer`` does)."""

    def __init__(self, run, plan, draw, dispatch, remainder, rules, now):
        self.run, self.plan, self.draw, self.rules = run, plan, draw, rules
        self.dispatch, self.remainder = dispatch, remainder
        self.started = now
        self.python = Writer(run, plan, draw, dispatch, remainder, rules, now)

    def write(self, audience):
        """Returns how many people were targeted."""
        values = self._variants_by_value(audience)
        if values is None:
            return self.python.write(audience)
        sql, params = self._statement(audience, values)
        found = audience.profiles.aggregate(low=Min("pk"), high=Max("pk"))
        targeted = written = 0
        with connection.cursor() as cursor:
            # No ids (everyone stopped qualifying since the count): an empty range.
            for low in range(found["low"] or 0, (found["high"] or -1) + 1, ID_RANGE):
                cursor.execute(sql, params(low, low + ID_RANGE - 1))
                chosen, added = cursor.fetchone()
                targeted, written = targeted + chosen, written + added
                log.info(
                    "run %s: profiles %s-%s written, %s messages so far", self.run.pk, low, low + ID_RANGE - 1, written
                )
        return targeted

    def _variants_by_value(self, audience):
        """{property value as JSON text: variant key} of a message by property ({} for any
        other run), or None when there are too many values to list."""
        if not any(span.outcome == BY_VALUE for span in self.draw.spans):
            return {}
        sql, params = audience.rows_sql()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT DISTINCT a.value::text FROM ({sql}) a LIMIT %s", [*params, MAX_VALUES + 1])  # noqa: S608
            found = [row[0] for row in cursor.fetchall()]
        if len(found) > MAX_VALUES:
            return None
        keys = {text: self.plan.by_property.key(json.loads(text)) for text in found}
        return {text: key for text, key in keys.items() if key is not None}

    def _releases(self, audience):
        """{time zone: release} of a user-time-zone run, for each zone of the audience whose
        planned wall time is still ahead (``Writer._release``)."""
        if not self.python.user_timezone:
            return {}
        zones = audience.profiles.order_by().values_list("timezone", flat=True).distinct()
        releases = {tz: self.python._release(tz) for tz in zones}
        return {tz: release for tz, release in releases.items() if release}

    def _statement(self, audience, values):
        rows, row_params = audience.rows_sql()
        devices, device_params = audience.devices.order_by().values("id", "profile_id").query.sql_with_params()
        keyed = f"{draw_key_sql('a.id')} AS k" if self.draw.cuts else "0 AS k"
        span, span_params = self.draw.span_sql("a.k", "a.id")
        by_span = [
            (i, s.key if s.outcome != WAIT else "") for i, s in enumerate(self.draw.spans) if s.outcome in (SEND, WAIT)
        ]
        by_value = next((i for i, s in enumerate(self.draw.spans) if s.outcome == BY_VALUE), -1)
        control = [i for i, s in enumerate(self.draw.spans) if s.outcome == CONTROL]
        releases = self._releases(audience)
        remainder = self.remainder or self.dispatch
        # Columns without a value here take their database defaults (version, error_detail)
        # or NULL. No ON CONFLICT: the dispatches are this transaction's own, the run is
        # locked and each range of ids is written once (a speculative insert per row cost
        # time for conflicts that cannot happen). The table names are ours; every value is a
        # parameter.
        sql = f"""
            WITH keyed AS (
                SELECT a.*, {keyed} FROM ({rows}) a WHERE a.id BETWEEN %s AND %s
            ), spans AS (
                SELECT a.id, a.timezone, a.value, {span} AS span FROM keyed a
            ), chosen AS (
                SELECT s.id, s.timezone, v.key FROM spans s
                JOIN unnest(%s::int[], %s::text[]) AS v(span, key) ON v.span = s.span
                UNION ALL
                SELECT s.id, s.timezone, m.key FROM spans s
                JOIN unnest(%s::text[], %s::text[]) AS m(value, key) ON m.value::jsonb = s.value
                WHERE s.span = %s
            ), control AS (
                INSERT INTO {ControlMember._meta.db_table} (run_id, profile_id)
                SELECT %s, s.id FROM spans s WHERE s.span = ANY(%s::int[])
            ), written AS (
                INSERT INTO {Message._meta.db_table} (dispatch_id, profile_id, device_id, variant, status,
                    not_before, hold_reason, code, attempts, payload_hash, created_at, updated_at)
                SELECT CASE WHEN c.key = '' THEN %s ELSE %s END, c.id, d.id, c.key,
                    CASE WHEN z.release IS NULL THEN %s ELSE %s END, z.release,
                    CASE WHEN z.release IS NULL THEN '' ELSE %s END, '', 0, '', %s, %s
                FROM chosen c
                JOIN ({devices}) d ON d.profile_id = c.id AND d.profile_id BETWEEN %s AND %s
                LEFT JOIN unnest(%s::text[], %s::timestamptz[]) AS z(timezone, release) ON z.timezone = c.timezone
                ORDER BY c.id, d.id
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM chosen), (SELECT count(*) FROM written)
        """  # noqa: S608
        before = ([seed_number(self.draw.seed)] if self.draw.cuts else []) + list(row_params)
        middle = [
            *span_params,
            [i for i, _ in by_span],
            [key for _, key in by_span],
            list(values),
            list(values.values()),
            by_value,
            self.run.pk,
            control,
            remainder.pk,
            self.dispatch.pk,
            Message.Status.QUEUED,
            Message.Status.HELD,
            Message.HoldReason.USER_TIME_ZONE,
            timezone.now(),
            timezone.now(),
            *device_params,
        ]
        after = [list(releases), list(releases.values())]

        def params(low, high):
            """The statement's parameters for the profile ids from ``low`` to ``high``
            (the devices read by the same range: an index scan, not the whole table)."""
            return [*before, low, high, *middle, low, high, *after]

        return sql, params
