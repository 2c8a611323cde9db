"""Counts of an event in a window read from the events roll-up (segments.models.EventDay,
kept by segments/actions/rollup.py), exact: the window's whole UTC days from the roll-up
for the events up to the watermark, plus, from the events themselves, the events after
the watermark in those days and every event of the partial days at the window's edges
("in the last 30 days" starts at this hour 30 days ago: that day is read raw).

The watermark is read inside the same statement as the roll-up (one snapshot), so a
roll-up batch committing meanwhile is seen either whole (rows and mark) or not at all.
The watermark read before compiling (``hint``, never above the one the statement reads:
it only grows) is written beside it as a literal, so the planner knows the events after
it are few and reads them by primary key.

PostgreSQL only (``available``); SQLite, the embedded mode, keeps the plain queries.
The window's bounds are dates.window_bounds', as in the matcher: nothing here changes
what a window means, only where its events are counted from."""

from datetime import UTC, datetime, time, timedelta

from django.db import connection
from django.db.models import Expression, F, IntegerField
from django.db.models.expressions import RawSQL

from segments.models import EventRollup

MARK = "(SELECT coalesce(max(rolled_through), 0) FROM segments_eventrollup)"
# The SQL below is built from fixed pieces only; every value is a bound parameter.
HAVING = {">=": ">=", "=": "=", ">": ">"}


def available():
    """The watermark when counts can read the roll-up (PostgreSQL, rolled at least once), else None."""
    if connection.vendor != "postgresql":
        return None
    return EventRollup.objects.order_by("pk").values_list("rolled_through", flat=True).first() or None


def _midnight(day):
    return datetime.combine(day, time.min, tzinfo=UTC)


def whole_days(start, end):
    """(first, stop): the UTC days wholly inside [start, end), first included, stop
    excluded, None where the window is open; None when there is no whole day."""
    first = stop = None
    if start is not None:
        start = start.astimezone(UTC)
        first = start.date() if start == _midnight(start.date()) else start.date() + timedelta(days=1)
    if end is not None:
        stop = end.astimezone(UTC).date()
    if first is not None and stop is not None and first >= stop:
        return None
    return first, stop


def _parts(name, start, end, days, hint):
    """The roll-up's part and the raw events' parts of a count of ``name`` in [start, end):
    (select, [(condition, params), ...]) each, rows (profile_id, n)."""
    first, stop = days
    rolled, fresh = [("name = %s", [name])], [("id > %s", [hint]), (f"id > {MARK}", []), ("name = %s", [name])]
    if first is not None:
        rolled.append(("day >= %s", [first]))
        fresh.append(("occurred_at >= %s", [_midnight(first)]))
    if stop is not None:
        rolled.append(("day < %s", [stop]))
        fresh.append(("occurred_at < %s", [_midnight(stop)]))
    # Rows of the roll-up are only those of events up to the mark (the roll-up task
    # moves both in one transaction).
    raw = [("SELECT profile_id, 1 AS n FROM segments_event", fresh)]
    # The partial days at the edges, rolled or not.
    edge = "SELECT profile_id, 1 AS n FROM segments_event"
    if start is not None and first is not None and start < _midnight(first):
        raw.append(
            (edge, [("name = %s", [name]), ("occurred_at >= %s", [start]), ("occurred_at < %s", [_midnight(first)])])
        )
    if end is not None and stop is not None and _midnight(stop) < end:
        raw.append(
            (edge, [("name = %s", [name]), ("occurred_at >= %s", [_midnight(stop)]), ("occurred_at < %s", [end])])
        )
    return ("SELECT profile_id, count AS n FROM segments_eventday", rolled), raw


def _union(parts, mine=None):
    sql, params = [], []
    for select, conditions in parts:
        if mine is not None:
            conditions = [*conditions, (f"profile_id = {mine[0]}", mine[1])]
        sql.append(f"{select} WHERE {' AND '.join(text for text, _ in conditions)}")
        params += [value for _, values in conditions for value in values]
    return " UNION ALL ".join(sql), params


def per_profile(name, start, end, days, hint, mine=None):
    """SQL and params of rows (profile_id, n) whose n summed per profile is its count of
    ``name`` in [start, end); ``days`` is whole_days(start, end). ``mine``, (sql, params)
    of a profile id, keeps that profile's rows only (a probe of each index by profile)."""
    rolled, raw = _parts(name, start, end, days, hint)
    return _union([rolled, *raw], mine)


class ProfileCount(Expression):
    """The profile's count of ``name`` in the window, from the roll-up, as a number per
    profile (a correlated subquery): for a count beside conditions that leave few
    profiles, which probes segments_eventday_profile_idx and the events' indexes by
    profile instead of counting the whole window."""

    output_field = IntegerField()

    def __init__(self, name, start, end, days, hint):
        super().__init__()
        self.pk = F("pk")
        self.window = (name, start, end, days, hint)

    def get_source_expressions(self):
        return [self.pk]

    def set_source_expressions(self, exprs):
        (self.pk,) = exprs

    def as_sql(self, compiler, connection):
        mine = compiler.compile(self.pk)
        sql, params = per_profile(*self.window, mine=mine)
        return f"COALESCE((SELECT sum(n) FROM ({sql}) AS counted), 0)", params  # noqa: S608


def profiles_counted(name, start, end, days, hint, having=None):
    """RawSQL of the profile ids with a count of ``name`` in the window, for ``pk__in``:
    every one that did it (``having`` None), or those whose count passes ``having``
    ((op, n), op one of ">=", "=", ">")."""
    if having is None:
        sql, params = per_profile(name, start, end, days, hint)
        return RawSQL(f"SELECT profile_id FROM ({sql}) AS counted", params)  # noqa: S608, S611
    # Summed per profile in two parts joined by profile, not as one GROUP BY over the
    # UNION ALL: PostgreSQL cannot estimate the groups of an Append (it guessed 67
    # profiles for 174,716 on the demo audience and probed the profile and device
    # indexes once per profile, bench/reach.py), but estimates the roll-up's own
    # GROUP BY from its statistics; the raw events' part is small.
    op, times = having
    (rolled_select, rolled_where), raw = _parts(name, start, end, days, hint)
    rolled_sql, rolled_params = _union([(rolled_select, rolled_where)])
    raw_sql, raw_params = _union(raw)
    grouped = (
        "SELECT coalesce(r.profile_id, e.profile_id) FROM"  # noqa: S608
        f" (SELECT profile_id, sum(n) AS n FROM ({rolled_sql}) AS r GROUP BY profile_id) AS r"
        f" FULL JOIN (SELECT profile_id, count(*) AS n FROM ({raw_sql}) AS e GROUP BY profile_id) AS e"
        " ON e.profile_id = r.profile_id"
        f" WHERE coalesce(r.n, 0) + coalesce(e.n, 0) {HAVING[op]} %s"
    )
    return RawSQL(grouped, [*rolled_params, *raw_params, times])  # noqa: S611
