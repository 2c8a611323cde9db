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

A send task sends several batches in a row and claims each next one ahead, on a thread of its
own, while the one before sends (``Ahead``): the claim's UPDATE and the read of its rows wait on
PostgreSQL while the event loop and the encryption go on (bench/README.md, send.py, fifth
pass). A batch claimed ahead is kept by its own ``ClaimKeeper`` from the moment of the claim,
so it is renewed, or let go, exactly as the batch being sent.
"""

import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from delivery.models import Dispatch, Message
from delivery.threads import process_thread

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


@dataclass
class Claimed:
    """One batch's claim, read: the dispatch as it was when claimed, the claim's time and
    token, its rows (``fields`` of ``claim_batch``), and the keeper renewing it until the batch
    is done with (``with claimed: …``, or ``release``)."""

    dispatch: Dispatch
    now: datetime
    token: int
    rows: list
    size: int
    keeper: ClaimKeeper | None = None
    read: object = None  # what ``claim_batch``'s ``then`` read for the batch

    @property
    def full(self):
        """The claim took as many rows as it asked for: more may be ready."""
        return len(self.rows) == self.size

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.keeper is not None:
            self.keeper.__exit__(*exc)

    def release(self):
        """Let the rows go unsent, as if never claimed: the keeper stops and the rows still
        carrying the token are queued again, for the next claim (or, when the dispatch was
        stopped meanwhile, for the sweep to drop)."""
        self.__exit__(None, None, None)
        if self.rows:
            Message.objects.filter(
                pk__in=[row["id"] for row in self.rows], status=Message.Status.SENDING, claim_token=self.token
            ).update(status=Message.Status.QUEUED, claimed_until=None, updated_at=timezone.now())


def claim_batch(dispatch_id, size, fields, then=None):
    """Claim up to ``size`` ready rows of a sending dispatch and read their ``fields``: a
    ``Claimed`` whose keeper already runs; None when the dispatch is gone or not sending.
    ``then(claimed)``, when given, reads what else the batch needs (kept as ``read``)."""
    dispatch = Dispatch.objects.filter(pk=dispatch_id).first()
    if dispatch is None or dispatch.status != Dispatch.Status.SENDING:
        return None
    now = timezone.now()
    token = new_token()
    ids = claim(dispatch.pk, size, now, token=token)
    claimed = Claimed(dispatch, now, token, [], size)
    if not ids:
        return claimed
    claimed.keeper = ClaimKeeper(ids, token).__enter__()
    try:
        # The rows this claim holds, by its token: no list of a thousand ids to bind and parse.
        mine = Message.objects.filter(dispatch_id=dispatch.pk, status=Message.Status.SENDING, claim_token=token)
        claimed.rows = list(mine.values(*fields))
        claimed.read = then(claimed) if then else None
    except BaseException:
        claimed.keeper.__exit__(None, None, None)
        raise
    return claimed


class Ahead:
    """The next batch of a dispatch, claimed while the caller sends the one before.

    ``start()`` asks for it; ``take()`` returns it (a ``Claimed``, or None when the dispatch
    stopped sending meanwhile, or when nothing was asked). On PostgreSQL the claim is made on
    the process's claim thread, with its own connection; SQLite has one writer, and a caller
    inside a transaction (a test's) holds rows another connection cannot see, so there the
    claim is made in line by ``take()``, as a batch started after the one before would."""

    def __init__(self, dispatch_id, size, fields, then=None):
        self.args = (dispatch_id, size, fields, then)
        self.asked = None  # the future of the claim made ahead, or True for one made in line

    def start(self):
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            self.asked = process_thread("claim-ahead").submit(_claim_on_thread, *self.args)
        else:
            self.asked = True

    def take(self):
        asked, self.asked = self.asked, None
        if asked is None:
            return None
        if asked is True:
            return claim_batch(*self.args)
        claimed = asked.result()
        if claimed is not None and claimed.rows:
            # Read again now: the batch was claimed while the one before was sent, and a pause,
            # a stop or new contents since must hold for it as for a batch claimed now.
            claimed.dispatch = Dispatch.objects.filter(pk=claimed.dispatch.pk).first()
            if claimed.dispatch is None or claimed.dispatch.status != Dispatch.Status.SENDING:
                claimed.release()
                return None
        return claimed

    def release(self):
        """A batch claimed ahead and not taken (the caller failed or stopped) is let go."""
        if self.asked is None:
            return
        try:
            claimed = self.take()
        except DatabaseError as error:  # nothing was claimed, or its keeper already stopped
            log.warning("a claim made ahead failed: %s", error)
            return
        if claimed is not None:
            claimed.release()


def _claim_on_thread(*args):
    # The thread's own connection, closed after each claim as the keeper's is: the thread
    # outlives tasks, test databases and the connection's age, and a claim is seconds apart.
    try:
        return claim_batch(*args)
    finally:
        connection.close()
