"""Deleting the messages of old dispatches (MESSAGE_RETENTION_DAYS) without changing a number.

Whole dispatches are pruned, never part of one: every dispatch is finite (a run's, an A/B
remainder, a live campaign's batch, a test send), so once it is finished and old enough none
of its messages can change any more, and its counts can be kept once, exactly. In two steps:

1. ``do_keep_tally`` (one short transaction): its messages' counts go into ``PrunedTally``
   and ``Dispatch.pruned_at`` is set. From that commit on, ``delivery.counts`` reads the tally
   instead of the messages, so a page reads the same numbers while the rows go.
2. ``do_delete_batch``, repeated: at most ``BATCH`` messages per statement, each in its own
   transaction, so no lock is held long and the WAL of one commit stays small while
   workers send.

The task that calls them lives in stats (``stats.actions.retention``): the stats roll-up must
be made current first and conversions let go of their messages, and delivery may not import
stats.
"""

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from delivery.models import Dispatch, Message, PrunedTally

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
            .annotate(n=Count("pk"), viewed=Count("viewed_at"), clicked=Count("clicked_at"))
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
            )
            for variant, version, status, code, n, viewed, clicked in rows
        )
        dispatch.pruned_at = now or timezone.now()
        dispatch.save(update_fields=["pruned_at"])
    return True


def do_delete_batch(dispatch_id, *, after=0, size=BATCH, let_go=None):
    """Delete up to ``size`` messages of a pruned dispatch with ids above ``after``, lowest
    first (step 2 above), in one transaction. ``let_go(ids)`` runs first in it: what refers
    to these messages from a higher app (a conversion) lets go of them. Returns (deleted,
    last id): (0, after) when none is left."""
    with transaction.atomic():
        ids = list(
            Message.objects.filter(dispatch_id=dispatch_id, dispatch__pruned_at__isnull=False, pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return 0, after
        if let_go:
            let_go(ids)
        # One DELETE … WHERE id IN (…): QuerySet.delete() would fetch the rows to cascade
        # and delete them 100 at a time. Nothing cascades from a message: the one reference
        # to it (a conversion) was let go of just above.
        deleted = Message.objects.filter(pk__in=ids)._raw_delete(Message.objects.db)
    return deleted, ids[-1]
