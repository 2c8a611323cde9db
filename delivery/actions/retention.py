"""Deleting the messages of old dispatches (MESSAGE_RETENTION_DAYS) without changing a number.

Whole dispatches are pruned, never part of one: every dispatch is finite (a run's, an A/B
remainder, a live campaign's batch, a test send), so once it is finished and old enough none
of its messages can change any more, and its counts can be kept once, exactly. In two steps:

1. ``do_keep_tally`` (one short transaction): its messages' counts go into ``PrunedTally``
   (its App Inbox copies' into ``PrunedInboxTally``) and ``Dispatch.pruned_at`` is set. From
   that commit on, ``delivery.counts`` reads the tallies instead of the messages and items, so
   a page reads the same numbers while the rows go.
2. ``do_delete_batch``, repeated: at most ``BATCH`` messages per statement, each in its own
   transaction, so no lock is held long and the WAL of one commit stays small while
   workers send.

The task that calls them lives in stats (``stats.actions.retention``): the stats roll-up must
be made current first and conversions let go of their messages, and delivery may not import
stats.
"""

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from delivery import counts
from delivery.models import Dispatch, Message, PrunedInboxTally, PrunedTally

# Ids per DELETE. 5,000 keeps a statement well under a second on our 2-core machine
# (bench/prune.py) and its commit's WAL a few MB.
BATCH = 5000
FINISHED = (Dispatch.Status.DONE, Dispatch.Status.STOPPED)


def old_dispatches(cutoff):
    """Finished dispatches not pruned yet whose last message was handled before ``cutoff``."""
    return Dispatch.objects.filter(status__in=FINISHED, finished_at__lt=cutoff, pruned_at__isnull=True)


def do_keep_tally(dispatch_id, *, now=None):
    """Keep the counts of a finished dispatch's messages and mark it pruned (step 1 above).
    Runs inside the caller's transaction when there is one (the stats roll-up is made current
    in the same one). Returns False, doing nothing, for one not finished or pruned already."""
    with transaction.atomic():
        dispatch = Dispatch.objects.select_for_update().filter(pk=dispatch_id, pruned_at__isnull=True).first()
        if dispatch is None or dispatch.status not in FINISHED:
            return False
        rows = (
            Message.objects.filter(dispatch_id=dispatch_id)
            .values_list("variant", "version", "status", "code")
            .annotate(
                n=Count("pk"),
                viewed=Count("viewed_at"),
                clicked=Count("clicked_at"),
                amplified=Count("amplified_at"),
                closed=Count("closed_at"),
            )
            .order_by()
        )
        PrunedTally.objects.bulk_create(
            PrunedTally(
                dispatch_id=dispatch_id,
                variant=variant,
                version=version,
                status=status,
                code=code,
                messages=n,
                viewed=viewed,
                clicked=clicked,
                amplified=amplified,
                closed=closed,
            )
            for variant, version, status, code, n, viewed, clicked, amplified, closed in rows
        )
        inbox = counts.inbox(Q(dispatch=dispatch_id))
        if inbox.copies:
            PrunedInboxTally.objects.create(
                dispatch_id=dispatch_id, copies=inbox.copies, views=inbox.views, boosted=inbox.boosted
            )
        dispatch.pruned_at = now or timezone.now()
        dispatch.save(update_fields=["pruned_at"])
    return True


def do_delete_batch(dispatch_id, *, size=BATCH, let_go=None):
    """Delete up to ``size`` messages of a pruned dispatch (step 2 above), in one transaction.
    ``let_go(dispatch_id)`` runs first in it: what refers to the dispatch's messages from a
    higher app (a conversion) lets go of them. Returns how many were deleted: 0 when none is
    left (or the dispatch is not pruned)."""
    with transaction.atomic():
        if not Dispatch.objects.filter(pk=dispatch_id, pruned_at__isnull=False).exists():
            return 0
        # Through the (dispatch, status) index, in no order: an ORDER BY id would walk the
        # primary key from the table's first row, past every other dispatch's rows.
        ids = list(Message.objects.filter(dispatch_id=dispatch_id).values_list("pk", flat=True)[:size])
        if not ids:
            return 0
        if let_go:
            let_go(dispatch_id)
        return _delete(ids)


def _delete(ids):
    """One DELETE of the messages ``ids``. QuerySet.delete() would fetch them to cascade and
    delete 100 at a time, and nothing cascades from a message (its one reference, a
    conversion, was let go of). On PostgreSQL the ids go as one array: binding 5,000
    placeholders of ``id IN (…)`` took twice as long as the deletion itself (bench/prune.py)."""
    if connection.vendor != "postgresql":
        return Message.objects.filter(pk__in=ids)._raw_delete(Message.objects.db)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Message._meta.db_table} WHERE id = ANY(%s)", [ids])  # noqa: S608 (our table)
        return cursor.rowcount
