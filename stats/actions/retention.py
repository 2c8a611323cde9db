"""Message retention: the messages of dispatches finished more than MESSAGE_RETENTION_DAYS ago
are deleted, after everything that counts them has been kept (beat, hourly: "prune old
messages" in config/celery.py).

A dispatch is pruned only when nothing can change its numbers any more:
- it is finished (done or stopped) and its run, if any, too (an A/B run's test dispatch is
  read again when the winner is picked);
- its campaign's funnel window has passed since it finished (a goal event may still be
  credited to one of its messages until then);
- it has a stats roll-up (``stats.RollUp``: a test send has none and needs none; a dispatch
  of no run and no test is left alone).

For each, in one transaction, its roll-up is recomputed from all its messages and frozen
(``stats.actions.rollup`` never recomputes a pruned dispatch) and ``delivery`` keeps its
messages' tally; then its messages are deleted in batches (``delivery.actions.retention``).
Stats pages, A/B results, conversions and the CSV exports read roll-ups and tallies, so they
say the same afterwards (stats/tests/test_retention.py). A person's message history
(``campaigns.profile_messages``) does lose the pruned messages: that is the point.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from campaigns.models import CampaignRun
from delivery.actions import retention
from delivery.models import Dispatch, Message
from stats.actions.rollup import roll_up_dispatch
from stats.models import Conversion, RollUp

logger = logging.getLogger(__name__)

UNFINISHED_RUNS = (CampaignRun.Status.PLANNED, CampaignRun.Status.RUNNING, CampaignRun.Status.PAUSED)
# One task run stops starting new batches after this long; the next hourly run goes on. Short
# enough that two runs never overlap (beat's entry expires after an hour).
TIME_BUDGET = 20 * 60


def do_prune_messages(*, now=None, days=None, batch=retention.BATCH, budget=TIME_BUDGET):
    """Prune every dispatch that may be pruned (see the module docstring), then delete the
    messages of pruned dispatches, ``batch`` at a time, for at most ``budget`` seconds. Logs
    one line; returns {"dispatches", "messages", "batches", "skipped"}."""
    now = now or timezone.now()
    days = days if days is not None else settings.MESSAGE_RETENTION_DAYS
    started = time.monotonic()
    kept, skipped = 0, 0
    for dispatch_id, window in _candidates(now - timedelta(days=days)):
        finished = window["finished_at"]
        if window["minutes"] and finished + timedelta(minutes=window["minutes"]) > now:
            continue  # a goal event may still credit one of its messages
        if _freeze(dispatch_id, now=now):
            kept += 1
        else:
            skipped += 1
    deleted, batches = 0, 0
    for dispatch_id in _with_messages_left():
        while time.monotonic() - started < budget:
            n = retention.do_delete_batch(dispatch_id, size=batch, let_go=_let_go)
            if not n:
                break
            deleted, batches = deleted + n, batches + 1
    found = {"dispatches": kept, "messages": deleted, "batches": batches, "skipped": skipped}
    logger.info(
        "Pruned messages older than %s days: %s dispatches kept as roll-ups, %s messages deleted in %s batches"
        " (%.1f s), %s dispatches skipped for a missing roll-up",
        days,
        kept,
        deleted,
        batches,
        time.monotonic() - started,
        skipped,
    )
    return found


def _candidates(cutoff):
    """[(dispatch id, {"finished_at", "minutes": its campaign's funnel window})] of the old,
    finished dispatches whose run (if any) is finished too."""
    unfinished = CampaignRun.objects.filter(
        Q(dispatch=OuterRef("pk")) | Q(remainder=OuterRef("pk")), status__in=UNFINISHED_RUNS
    )
    rows = (
        retention.old_dispatches(cutoff)
        .exclude(Exists(unfinished))
        .values_list(
            "pk", "finished_at", "run__campaign__goal_window_minutes", "remainder_of_run__campaign__goal_window_minutes"
        )
        .order_by("finished_at")
    )
    return [(pk, {"finished_at": at, "minutes": ran or rest or 0}) for pk, at, ran, rest in rows]


def _freeze(dispatch_id, *, now):
    """Make the dispatch's roll-up current and keep its tally, in one transaction; False when
    it has no roll-up (and is not a test send)."""
    with transaction.atomic():
        rollup = RollUp.objects.filter(dispatch_id=dispatch_id).values_list("pk", flat=True).first()
        if rollup is None and not Dispatch.objects.filter(pk=dispatch_id, is_test=True).exists():
            return False
        if rollup is not None:
            roll_up_dispatch(rollup, now=now)
        return retention.do_keep_tally(dispatch_id, now=now)


def _with_messages_left():
    left = Message.objects.filter(dispatch=OuterRef("pk"))
    return list(Dispatch.objects.filter(pruned_at__isnull=False).filter(Exists(left)).values_list("pk", flat=True))


def _let_go(dispatch_id):
    # A conversion is credited to a message of its own dispatch (stats.actions.conversions);
    # through the (dispatch, occurred_at) index, without a list of ids to bind.
    Conversion.objects.filter(dispatch_id=dispatch_id, message__isnull=False).update(message=None)
