"""Best time delivery (seed 001, beside "user time zone"): each person gets a run's message at
their most engaged hour of the day, learnt from their events of the last ``WINDOW`` — the
local hour (in their zone as ``delivery.zones.person_zone`` reads it) in which they did most —
and people with fewer than ``MIN_EVENTS`` events then get the campaign's fallback hour.

The day's window is the 24 hours from the moment the dispatch starts: a person whose hour is
under way then is sent at once, anyone else at the next time their clock shows that hour.

One statement per dispatch, whatever its size (``hold_at_best_times``): an aggregate over the
events grouped by person and local hour picks each person's hour, and an UPDATE holds their
queued messages until it (``Message.HoldReason.BEST_TIME``; ``delivery/holds.py`` tells the
campaign page why and until when). Only the release of each (zone, hour) pair is computed in
Python, with the same DST rule as every other local time (``limits.local_moment``): a
hundred zones are 2,400 releases, not a loop over people. The daily limit still applies: the
campaign's is a quota of the run (``campaigns.allocation.Plan``), the global frequency caps
are counted when each held message is released and sent (``limits.cap_slots``).

``spread`` answers the same question for an audience not sent yet: how many people get it
at each hour (the forecast's spread of send hours).
"""

from dataclasses import dataclass
from datetime import time, timedelta

from django.db import connection, transaction
from django.utils import timezone

from delivery.actions.limits import Rules, local_moment
from delivery.models import Message
from delivery.zones import zone
from segments.models import Event, Profile

WINDOW = timedelta(days=90)  # the history an hour is learnt from
MIN_EVENTS = 5  # fewer events in the window: too little history, the fallback hour
DEFAULT_FALLBACK_HOUR = 10  # the When step's default: 10:00 in the person's zone


def release(tz, hour, start):
    """When someone in ``tz`` whose hour is ``hour`` gets a message of a dispatch started at
    ``start``: None when that hour is under way there (now), else the next time it begins
    (within 24 hours). In a DST gap the hour begins when the clocks land past it."""
    local = start.astimezone(tz)
    if local.hour == hour:
        return None
    day = local.date() if local.hour < hour else local.date() + timedelta(days=1)
    return local_moment(day, time(hour), tz)


def hold_at_best_times(dispatch, *, now=None):
    """Hold each queued message of ``dispatch`` (rules with ``best_time``) until its person's
    best hour; those whose hour is under way stay queued. Returns how many were held."""
    now = now or timezone.now()
    rules = Rules.parse(dispatch.rules)
    if rules.best_time_fallback is None:
        return 0
    people = Profile.objects.filter(
        pk__in=Message.objects.filter(dispatch=dispatch, status=Message.Status.QUEUED).values("profile_id")
    )
    plan = Plan(people, rules.timezone, rules.best_time_fallback, now)
    releases = [(name, hour, moment) for name, hour, moment in plan.releases() if moment is not None]
    if not releases:
        return 0
    ops, table = connection.ops, Message._meta.db_table
    values = ", ".join(["(%s, %s, %s)"] * len(releases))
    params = [*plan.params]
    for name, hour, moment in releases:
        params += [name, hour, ops.adapt_datetimefield_value(moment)]
    # Our table names; every value is a parameter.
    sql = (
        f"{plan.sql}, releases(zone, hour, release_at) AS (VALUES {values})"  # noqa: S608
        f" UPDATE {table} SET status = %s, hold_reason = %s, not_before = releases.release_at, updated_at = %s"
        " FROM plan JOIN releases ON releases.zone = plan.zone AND releases.hour = plan.hour"
        f" WHERE {table}.dispatch_id = %s AND {table}.status = %s AND {table}.profile_id = plan.id"
    )
    params += [Message.Status.HELD, Message.HoldReason.BEST_TIME, ops.adapt_datetimefield_value(now)]
    params += [dispatch.pk, Message.Status.QUEUED]
    return _execute(sql, params)


@dataclass(frozen=True)
class Spread:
    """Where a best-time send's people fall: ``local_hours[h]``, how many get it at h:00 on
    their own clock; ``sends``, [(moment, people)] in time order, moment None for those sent
    at once (their hour is under way at the start); ``by_zone``, the same per zone name (the
    person's own when valid, else the campaign's: ``Rules.zone_for(...).key``)."""

    local_hours: list
    sends: list
    by_zone: dict

    @property
    def people(self):
        return sum(self.local_hours)


def spread(profiles, *, campaign_zone, fallback_hour=DEFAULT_FALLBACK_HOUR, start=None):
    """The spread of send hours of a best-time send to ``profiles`` (a Profile queryset)
    starting at ``start`` (default now): the forecast's counts per hour, from the same
    aggregate the send uses (one query). ``campaign_zone``: a ZoneInfo or an IANA name."""
    start = start or timezone.now()
    tz = campaign_zone if not isinstance(campaign_zone, str) else zone(campaign_zone)
    plan = Plan(profiles, tz, fallback_hour, start)
    sql = f"{plan.sql} SELECT zone, hour, count(*) FROM plan GROUP BY zone, hour"  # noqa: S608
    counts = {(name, hour): n for name, hour, n in _execute(sql, plan.params, rows=True)}
    local_hours, sends, by_zone = [0] * 24, {}, {}
    for name, hour, moment in plan.releases():
        n = counts.get((name, hour), 0)
        if n:
            local_hours[hour] += n
            sends[moment] = sends.get(moment, 0) + n
            by_zone.setdefault(name, []).append((moment, n))

    def in_order(item):  # those sent at once first
        return (item[0] is not None, item[0] or start)

    by_zone = {name: sorted(found, key=in_order) for name, found in by_zone.items()}
    return Spread(local_hours, sorted(sends.items(), key=in_order), by_zone)


# For a Plan's statement on PostgreSQL only, put back after it (and rolled back with the
# savepoint on an error). No nested loops: a run's messages were written in its own
# transaction, so the planner's statistics know none of them and guess a handful of people,
# and a nested loop over two of the WITH clauses then costs people times people
# (bench/besttime.py: a 5,000-message dispatch's hold ran for over 15 minutes, 0.6 s with
# hash joins, which cost the same whatever the guess). JIT compiling (2 s) and the groups
# spilling to disk (30 MB at 100,000 people) were measured too, but turning them off did not
# change the total measurably on the loaded machine: left as they are.
SETTINGS = {"enable_nestloop": "off"}


def _execute(sql, params, *, rows=False):
    """Run a Plan's statement (``SETTINGS`` says how): its rows, or how many it changed."""
    with transaction.atomic(), connection.cursor() as cursor:
        postgres = connection.vendor == "postgresql"
        if postgres:
            cursor.execute(
                " UNION ALL ".join("SELECT %s, current_setting(%s), set_config(%s, %s, true)" for _ in SETTINGS),
                [value for name, setting in SETTINGS.items() for value in (name, name, name, setting)],
            )
            before = {name: value for name, value, _ in cursor.fetchall()}
        cursor.execute(sql, params)
        result = cursor.fetchall() if rows else cursor.rowcount
        if postgres:
            cursor.execute(
                " UNION ALL ".join("SELECT set_config(%s, %s, true)" for _ in before),
                [value for name, old in before.items() for value in (name, old)],
            )
        return result


class Plan:
    """The SQL (``sql``, ``params``: a WITH clause ending in ``plan(id, zone, hour)``) that gives
    each person of ``profiles`` their zone and their hour; ``releases()`` when each (zone,
    hour) pair goes. A person's zone is their own when zoneinfo knows it, else the campaign's
    (``delivery.zones.person_zone``: the names are checked here, in Python, and the SQL only
    picks among those found valid)."""

    def __init__(self, profiles, campaign_zone, fallback_hour, start):
        self.campaign_zone, self.fallback_hour, self.start = campaign_zone, fallback_hour, start
        profiles = profiles.order_by()
        names = set(profiles.values_list("timezone", flat=True).distinct())
        self.zones = _known_to_database({name for name in names if name and zone(name, None) is not None})
        people_sql, people_params = profiles.values_list("pk", "timezone").query.sql_with_params()
        valid = ", ".join(["%s"] * len(self.zones))
        resolved = f"CASE WHEN people.timezone IN ({valid}) THEN people.timezone ELSE %s END" if valid else "%s"
        hour_sql, hour_params = self._local_hour()
        events, ops = Event._meta.db_table, connection.ops
        # Ties between hours go to the earliest: the same hour on every evaluation.
        self.sql = (
            f"WITH people(id, timezone) AS ({people_sql}),"  # noqa: S608
            f" zoned AS (SELECT people.id, {resolved} AS zone FROM people),"
            f" hours AS (SELECT zoned.id, {hour_sql} AS hour, count(*) AS n"
            f" FROM zoned JOIN {events} e ON e.profile_id = zoned.id"
            " WHERE e.occurred_at >= %s AND e.occurred_at < %s GROUP BY 1, 2),"
            " ranked AS (SELECT id, hour, sum(n) OVER (PARTITION BY id) AS total,"
            " row_number() OVER (PARTITION BY id ORDER BY n DESC, hour) AS place FROM hours),"
            " plan AS (SELECT zoned.id, zoned.zone,"
            " CASE WHEN ranked.total >= %s THEN ranked.hour ELSE %s END AS hour"
            " FROM zoned LEFT JOIN ranked ON ranked.id = zoned.id AND ranked.place = 1)"
        )
        self.params = [*people_params, *sorted(self.zones), campaign_zone.key, *hour_params]
        self.params += [ops.adapt_datetimefield_value(start - WINDOW), ops.adapt_datetimefield_value(start)]
        self.params += [MIN_EVENTS, fallback_hour]

    def releases(self):
        """(zone name, hour, release or None) for every zone a person may be in and every hour."""
        for name in sorted(self.zones | {self.campaign_zone.key}):
            tz = zone(name)
            for hour in range(24):
                yield name, hour, release(tz, hour, self.start)

    def _local_hour(self):
        """The SQL of an event's hour on its person's clock."""
        if connection.vendor == "postgresql":
            return "EXTRACT(HOUR FROM e.occurred_at AT TIME ZONE zoned.zone)::int", []
        # SQLite (the embedded mode) knows no time zones: each zone's UTC offsets over the
        # window, with the moments they changed (DST), from zoneinfo.
        cases, params, ops = [], [], connection.ops
        for name in sorted(self.zones | {self.campaign_zone.key}):
            for since, until, offset in offsets(zone(name), self.start - WINDOW, self.start):
                cases.append("WHEN zoned.zone = %s AND e.occurred_at >= %s AND e.occurred_at < %s THEN %s")
                params += [name, ops.adapt_datetimefield_value(since), ops.adapt_datetimefield_value(until), offset]
        minutes = (
            "CAST(strftime('%%H', e.occurred_at) AS INTEGER) * 60 + CAST(strftime('%%M', e.occurred_at) AS INTEGER)"
        )
        return f"(({minutes} + (CASE {' '.join(cases)} ELSE 0 END) + 1440) %% 1440) / 60", params


def _known_to_database(names):
    """Of the zone names zoneinfo knows, those PostgreSQL's ``AT TIME ZONE`` knows too: the two
    read different copies of the tz database, and one name PostgreSQL lacks would fail the
    whole statement (its people get the campaign's zone instead). SQLite converts in Python."""
    if connection.vendor != "postgresql" or not names:
        return names
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_timezone_names WHERE name = ANY(%s)", [sorted(names)])
        return {name for (name,) in cursor.fetchall()}


def offsets(tz, since, until):
    """[(from, to, UTC offset in minutes)] of ``tz`` between two moments: one span per offset
    it had (two around a DST change). Looked at hourly, then to the minute where it changed."""
    spans, begin, current = [], since, _minutes(since, tz)
    moment = since
    while moment < until:
        step = min(moment + timedelta(hours=1), until)
        if _minutes(step, tz) != current:
            change = moment
            while _minutes(change, tz) == current:
                change += timedelta(minutes=1)
            spans.append((begin, change, current))
            begin, current = change, _minutes(change, tz)
        moment = step
    spans.append((begin, until, current))
    return spans


def _minutes(moment, tz):
    return int(moment.astimezone(tz).utcoffset().total_seconds() // 60)
