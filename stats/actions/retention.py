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
# After each batch the prune waits as long again as the batch took: on our 2 cores the send
# pipeline keeps the database's attention (bench/prune.py measures both), and a day of
# messages (a million) still goes in a few minutes.
YIELD = 1.0


def do_prune_messages(*, now=None, days=None, batch=retention.BATCH, budget=TIME_BUDGET, pause=YIELD):
    """Prune the dispatches that may be pruned (see the module docstring) one at a time: keep
    its numbers, then delete its messages ``batch`` at a time, each batch followed by
    ``pause`` times its own duration of sleep. A dispatch a previous run left half deleted
    goes first. Starts nothing new after ``budget`` seconds. Logs one line; returns
    {"dispatches", "messages", "batches", "skipped"}."""
    now = now or timezone.now()
    days = days if days is not None else settings.MESSAGE_RETENTION_DAYS
    started = time.monotonic()
    found = {"dispatches": 0, "messages": 0, "batches": 0, "skipped": 0}

    def delete(dispatch_id):
        while time.monotonic() - started < budget:
            took = time.monotonic()
            n = retention.do_delete_batch(dispatch_id, size=batch, let_go=_let_go)
            if not n:
                return
            found["messages"] += n
            found["batches"] += 1
            time.sleep(pause * (time.monotonic() - took))

    for dispatch_id in _with_messages_left():
        delete(dispatch_id)
    for dispatch_id, finished, window in _candidates(now - timedelta(days=days)):
        if time.monotonic() - started >= budget:
            break
        if window and finished + timedelta(minutes=window) > now:
            continue  # a goal event may still credit one of its messages
        if not _freeze(dispatch_id, now=now):
            found["skipped"] += 1
            continue
        found["dispatches"] += 1
        delete(dispatch_id)
    logger.info(
        "Pruned messages older than %s days: %s dispatches kept as roll-ups, %s messages deleted in %s batches"
        " (%.1f s), %s dispatches skipped for a missing roll-up",
        days,
        found["dispatches"],
        found["messages"],
        found["batches"],
        time.monotonic() - started,
        found["skipped"],
    )
    return found


def _candidates(cutoff):
    """[(dispatch id, finished at, its campaign's funnel window in minutes or 0)] of the old,
    finished dispatches whose run (if any) is finished too, oldest first."""
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
    return [(pk, at, ran or rest or 0) for pk, at, ran, rest in rows]


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
