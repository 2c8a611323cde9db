"""The events roll-up (segments.models.EventDay): events per profile, name and UTC day,
for the events up to a watermark, so a count of events over a month reads one row per
person and day instead of every event (segments/rules/compiler.py, PostgreSQL only).

Kept set-based by a housekeeping task (``roll_up_events``), never by ingestion: the
events after the watermark are read raw by the queries, which add them to the
roll-up's days, so an estimate is exact whenever the task last ran. Rolled events
that later move (identify's hand-over) or are deleted (with their profile) are
subtracted and re-added by a trigger on segments_event (migration 0009).

The watermark is an event id below which no transaction can still add an event: the
task takes it under a brief SHARE lock on segments_event, which waits for the
transactions writing events and keeps new ones out while it reads max(id). Event ids
come from the table's sequence when the row is inserted, after the insert's own lock,
so every event written later gets a larger id. The lock is asked with a short
lock_timeout: behind a long writer, this round is skipped rather than queueing the
ingestion behind it."""

from django.db import OperationalError, connection, transaction
from django.utils import timezone

from segments.models import EventRollup

# Event ids rolled per transaction: bounded work (and WAL) per commit on a first roll
# of millions of events.
BATCH = 1_000_000
LOCK_TIMEOUT = "200ms"

ROLL = """
INSERT INTO segments_eventday (profile_id, name, day, count)
SELECT profile_id, name, (occurred_at AT TIME ZONE 'UTC')::date, count(*)
FROM segments_event WHERE id > %s AND id <= %s GROUP BY 1, 2, 3
ON CONFLICT (name, day, profile_id) DO UPDATE SET count = segments_eventday.count + EXCLUDED.count
"""


def safe_event_id():
    """The largest event id below which every event is committed, or None when the lock
    was not granted in time (a long transaction writing events)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            cursor.execute("LOCK TABLE segments_event IN SHARE MODE")
            cursor.execute("SELECT coalesce(max(id), 0) FROM segments_event")
            return cursor.fetchone()[0]
    except OperationalError:  # lock_timeout
        return None


def roll_up_events(*, batch=BATCH, now=None):
    """Add the events after the watermark to the roll-up, a batch of ids per transaction.
    Returns the new watermark (None on SQLite, or when the lock was not granted)."""
    # SQLite, the embedded mode, keeps the plain queries (rules/rolled.py) and has no
    # trigger to keep a roll-up exact.
    if connection.vendor != "postgresql":
        return None
    through = safe_event_id()
    if through is None:
        return None
    EventRollup.objects.bulk_create([EventRollup(pk=1)], ignore_conflicts=True)
    while True:
        with transaction.atomic():
            # FOR UPDATE: the trigger reads the mark FOR SHARE, so a move or delete of
            # events waits for this batch and then adjusts with the new mark.
            mark = EventRollup.objects.select_for_update().get(pk=1)
            start = mark.rolled_through
            if start >= through:
                return start
            end = min(through, start + batch)
            with connection.cursor() as cursor:
                cursor.execute(ROLL, [start, end])
            mark.rolled_through, mark.rolled_at = end, now or timezone.now()
            mark.save(update_fields=["rolled_through", "rolled_at"])
