"""Impressions, views and clicks, each recorded once per message.

They arrive four ways: the service worker's reports and the mobile apps' events
(``Notification Rendered`` / ``Notification Viewed`` / ``Notification Clicked`` with a
``message_id`` property, stored by segments and handed over by
``segments.signals.events_recorded``), the JSON API's engagement reports
(``POST /api/v1/engagement``, ``stats.api``), and a click on a signed link through Clarion
(``stats.links``). All of them end in ``record_reports``.

A batch of reports costs the same few statements however many it holds: one to read the
messages they name, one UPDATE per kind (rendered, viewed, clicked), one to tell the
roll-up. Each UPDATE sets ``rendered_at`` / ``viewed_at`` / ``clicked_at`` only while it is
null, so a repeated report changes nothing and two batches at once cannot both count. Each
kind implies the ones before it: a notification clicked was seen, and one seen was
displayed, whether or not those reports arrived (the web service worker reports "viewed"
when it shows a notification, which therefore counts as rendered too).
"""

from datetime import datetime
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.params import positive_int
from delivery.models import Message
from segments.actions.sdk import ENGAGEMENT_EVENTS
from stats.models import RollUp

RENDERED, VIEWED, CLICKED = (ENGAGEMENT_EVENTS[kind] for kind in ("rendered", "viewed", "clicked"))
KIND_OF_EVENT = {name: kind for kind, name in ENGAGEMENT_EVENTS.items()}
# Each kind and the message field it sets, in the order one implies the ones before it.
FIELDS = {"rendered": "rendered_at", "viewed": "viewed_at", "clicked": "clicked_at"}
KINDS = tuple(FIELDS)


class Report(NamedTuple):
    """Message ``message_id`` was rendered, viewed or clicked (``kind``) at ``at``. ``profile_id`` is
    the profile of the device that reported it; None for a signed link, which needs none."""

    message_id: int
    kind: str
    at: datetime
    profile_id: int | None = None


def message_id_of(properties):
    """The message an engagement event is about: an int, or None if it names none."""
    value = (properties or {}).get("message_id")
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    # One odd event ("²", a number past bigint) is skipped, never the whole batch.
    return positive_int(str(value).strip())


def do_record_engagement(message_id, kind, at, *, profile_id=None):
    """Record that message ``message_id`` was rendered, viewed or clicked (``kind``) at ``at``.

    With ``profile_id`` (a report from a device) it only counts when the message went to
    that profile or to a device that profile now holds, so one visitor cannot count views
    for another's messages. Returns whether anything new was recorded."""
    if kind not in FIELDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    with transaction.atomic():
        return any(_record([Report(message_id, kind, at, profile_id)]).new.values())


def record_engagement_events(events):
    """Engagement events (dicts of Event fields) onto their messages; how many views and
    clicks were new (a click on a message not viewed yet records both)."""
    reports = []
    for event in events:
        message_id = message_id_of(event["properties"])
        if message_id is not None:
            kind = KIND_OF_EVENT[event["name"]]
            reports.append(Report(message_id, kind, event["occurred_at"], event["profile_id"]))
    return record_reports(reports)


class Recorded(NamedTuple):
    """What a batch of reports did: the ids of the messages it named that exist (``found``),
    and per kind the ids whose time it set (``new``: {kind: {message id}})."""

    found: set
    new: dict


def record_reports(reports):
    """Reports onto their messages, in one transaction and a fixed number of statements;
    how many views and clicks were new (impressions are not in this figure: see
    ``record_batch``). Within the batch the earliest report of each kind wins, as it would
    had they come one by one in time order."""
    new = record_batch(reports).new
    return len(new["viewed"]) + len(new["clicked"])


def record_batch(reports):
    """Reports onto their messages, as ``record_reports``; returns ``Recorded``."""
    if not reports:
        return Recorded(set(), {kind: set() for kind in KINDS})
    with transaction.atomic():
        return _record(reports)


def _record(reports):
    messages = {
        row["pk"]: row
        for row in Message.objects.filter(pk__in={report.message_id for report in reports}).values(
            "pk", "dispatch_id", "profile_id", "device__profile_id", "sent_at", *FIELDS.values()
        )
    }
    times = {kind: {} for kind in KINDS}  # {kind: {message id: when}}, only where still unset
    for report in reports:
        message = messages.get(report.message_id)
        if message is None or not _reported_by_its_own(message, report.profile_id):
            continue
        # Nothing is shown before it was sent: a device whose clock says 1970 would otherwise
        # date a view decades back (and stretch the stats page's trend over them).
        at = max(report.at, message["sent_at"] or report.at)
        # A report of one kind stands for the kinds before it too (a click was seen and shown).
        for kind in KINDS[: KINDS.index(report.kind) + 1]:
            if message[FIELDS[kind]] is None:
                found = times[kind]
                found[report.message_id] = min(at, found.get(report.message_id, at))
    new = {kind: _set_once(FIELDS[kind], times[kind], returning=True) for kind in KINDS}
    changed = set().union(*new.values())
    if changed:
        note_changed(messages[pk]["dispatch_id"] for pk in changed)
    return Recorded(set(messages), new)


def _reported_by_its_own(message, profile_id):
    """The message went to that profile, or to a device the profile holds now (a browser that
    identified as someone else after the send took its device along)."""
    return profile_id is None or profile_id in (message["profile_id"], message["device__profile_id"])


def _set_once(field, times, *, returning=False):
    """Set ``field`` to each message's time in ``times`` ({message id: time}) where it is still
    null: one UPDATE … FROM (VALUES …) (PostgreSQL, SQLite 3.33+), as delivery's
    ``_save_sent`` does; the ORM's way, a CASE with a WHEN per row, makes each row's update
    cost grow with the batch. The null check is in the statement, so a report recorded
    meanwhile by another batch wins and is not counted again. A batch holds at most the
    API's 1,000 events: two parameters each stays well inside both databases' limits.
    Returns the rows changed, or with ``returning`` their ids (RETURNING: PostgreSQL, and
    SQLite since 3.35)."""
    if not times:
        return set() if returning else 0
    adapt = connection.ops.adapt_datetimefield_value
    table = Message._meta.db_table
    # In id order: with the usual plan (each VALUES row looks its message up by id) two
    # batches at once then lock the rows they share in the same order.
    rows = sorted(times.items())
    values = ", ".join(["(%s, %s)"] * len(rows))
    # The table and field names are ours and every value is a parameter.
    sql = (
        f"UPDATE {table} SET {field} = v.column2, updated_at = %s"  # noqa: S608
        f" FROM (VALUES {values}) AS v WHERE {table}.id = v.column1 AND {table}.{field} IS NULL"
    )
    if returning:
        sql += f" RETURNING {table}.id"
    params = [adapt(timezone.now())]
    for pk, at in rows:
        params += [pk, adapt(at)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pk for (pk,) in cursor.fetchall()} if returning else cursor.rowcount


def note_changed(dispatch_ids):
    """Tell the roll-up these dispatches' numbers moved (see ``RollUp``). A dispatch not
    rolled up yet has no row: the roll-up finds it anyway."""
    RollUp.objects.filter(dispatch_id__in=set(dispatch_ids)).update(changes=F("changes") + 1)
