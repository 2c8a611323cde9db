"""Claims on message rows (DESIGN.md "at-least-once with collapse").

A send task claims the rows of its batch in one statement: they become ``sending``, with
``claimed_until`` one lease ahead and a ``claim_token`` that only this claim knows. While the
batch works, a ``ClaimKeeper`` renews the lease every third of it, for the rows that still
carry its token. So the lease can be short (``DELIVERY_CLAIM_LEASE``, a minute): a worker that
dies stops renewing, and its rows are claimable again at most a lease later — by the next
claim of the same dispatch, or by the sweep (beat, every 15 s) when no task is left to claim.

The token, not the lease's time, says whose a row is: a worker that was only slow (its lease
ran out, another worker claimed and sent the row) neither renews nor records over the other's
claim.
"""

import logging
import secrets
import threading
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from delivery.models import Message

log = logging.getLogger(__name__)


def new_token():
    """A random positive 63-bit number: two live claims sharing one is out of reach."""
    return secrets.randbits(63) or 1


def claim(dispatch_id, size, now, *, token=None):
    """Claim up to ``size`` ready rows in one statement — queued, held and due, or claimed by a
    claim whose lease ran out — for ``token`` (a new one when None); their ids.

    PostgreSQL: the sub-select locks with SKIP LOCKED, so concurrent workers take disjoint rows
    without waiting. SQLite has one writer: the whole UPDATE runs under its write lock, which
    makes the statement just as atomic. Both return the claimed ids (RETURNING, SQLite 3.35+)."""
    lease = now + timedelta(seconds=settings.DELIVERY_CLAIM_LEASE)
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    adapt = connection.ops.adapt_datetimefield_value
    table = Message._meta.db_table
    # The table name is ours and every value is a parameter.
    sql = (
        f"UPDATE {table} SET status = %s, claimed_until = %s, claim_token = %s, updated_at = %s"  # noqa: S608
        f" WHERE id IN (SELECT id FROM {table} WHERE dispatch_id = %s AND (status = %s"
        " OR (status = %s AND not_before <= %s) OR (status = %s AND claimed_until < %s))"
        f" LIMIT %s{lock}) RETURNING id"
    )
    Status = Message.Status
    params = [Status.SENDING, adapt(lease), token or new_token(), adapt(now), dispatch_id]
    params += [Status.QUEUED, Status.HELD, adapt(now), Status.SENDING, adapt(now), size]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def renew(ids, token, now=None):
    """One lease more for those of ``ids`` still claimed by ``token``; how many. A row recorded
    since, queued again by the sweep or claimed by another claim is left alone."""
    until = (now or timezone.now()) + timedelta(seconds=settings.DELIVERY_CLAIM_LEASE)
    return Message.objects.filter(pk__in=ids, status=Message.Status.SENDING, claim_token=token).update(
        claimed_until=until
    )


class ClaimKeeper:
    """Renews a batch's claim every third of the lease while the batch works (a context manager).

    A thread, not a task on the sends' event loop: the lease must hold through the whole batch —
    the frequency-cap query, Liquid rendering and Linked Content fetches, which run before the
    loop starts, and the recording after it — not only while pushes are in flight. The thread
    has its own database connection (Django's connections are per thread; one is never shared
    between threads), opened at its first renewal, so a batch shorter than a third of the
    lease costs a thread start and nothing else. ``writing`` is held around each renewal; the
    batch holds it while it records, so the two never wait for each other's row locks in the
    database (two statements locking the same rows in different orders could deadlock)."""

    def __init__(self, ids, token):
        self.ids = list(ids)
        self.token = token
        self.every = settings.DELIVERY_CLAIM_LEASE / 3
        self.writing = threading.Lock()
        self.renewals = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"claim-{token:x}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        try:
            while not self._stop.wait(self.every):
                with self.writing:
                    if self._stop.is_set():
                        return
                    try:
                        left = renew(self.ids, self.token)
                    except DatabaseError as error:
                        # The next renewal may get through; if none does, the lease runs out and
                        # the rows go again with their collapse keys, as if this worker had died.
                        log.warning("claim %x: renewal failed: %s", self.token, error)
                        continue
                self.renewals += 1
                if not left:
                    return  # every row is recorded (or was taken over): nothing left to keep
        finally:
            connection.close()  # this thread's connection, if it opened one
