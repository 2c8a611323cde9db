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
from django.db.models.expressions import RawSQL

from segments.models import EventRollup

MARK = "(SELECT coalesce(max(rolled_through), 0) FROM segments_eventrollup)"
# The SQL below is built from these fixed pieces only; every value is a bound parameter.
EDGE = "SELECT profile_id, 1 FROM segments_event WHERE name = %s AND occurred_at >= %s AND occurred_at < %s"
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


def per_profile(name, start, end, days, hint):
    """SQL and params of rows (profile_id, n) whose n summed per profile is its count of
    ``name`` in [start, end); ``days`` is whole_days(start, end)."""
    first, stop = days
    parts, params = [], []

    rolled, rolled_params = ["name = %s"], [name]
    fresh = ["id > %s", f"id > {MARK}", "name = %s"]
    fresh_params = [hint, name]
    if first is not None:
        rolled.append("day >= %s")
        rolled_params.append(first)
        fresh.append("occurred_at >= %s")
        fresh_params.append(_midnight(first))
    if stop is not None:
        rolled.append("day < %s")
        rolled_params.append(stop)
        fresh.append("occurred_at < %s")
        fresh_params.append(_midnight(stop))
    # Rows of the roll-up are only those of events up to the mark (the roll-up task
    # moves both in one transaction).
    parts.append(f"SELECT profile_id, count AS n FROM segments_eventday WHERE {' AND '.join(rolled)}")  # noqa: S608
    params += rolled_params
    parts.append(f"SELECT profile_id, 1 FROM segments_event WHERE {' AND '.join(fresh)}")  # noqa: S608
    params += fresh_params
    # The partial days at the edges, rolled or not.
    if start is not None and first is not None and start < _midnight(first):
        parts.append(EDGE)
        params += [name, start, _midnight(first)]
    if end is not None and stop is not None and _midnight(stop) < end:
        parts.append(EDGE)
        params += [name, _midnight(stop), end]
    return " UNION ALL ".join(parts), params


def profiles_counted(name, start, end, days, hint, having=None):
    """RawSQL of the profile ids with a count of ``name`` in the window, for ``pk__in``:
    every one that did it (``having`` None), or those whose count passes ``having``
    ((op, n), op one of ">=", "=", ">")."""
    sql, params = per_profile(name, start, end, days, hint)
    if having is None:
        return RawSQL(f"SELECT profile_id FROM ({sql}) AS counted", params)  # noqa: S608, S611
    op, times = having
    grouped = f"SELECT profile_id FROM ({sql}) AS counted GROUP BY profile_id HAVING sum(n) {HAVING[op]} %s"  # noqa: S608
    return RawSQL(grouped, [*params, times])  # noqa: S611
