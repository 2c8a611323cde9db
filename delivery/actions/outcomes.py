"""Recording a batch's outcomes (``delivery/actions/sending.py``): rows grouped by what became
of them, each group one UPDATE, written as the answers come back. A row's own values (a sent
row's payload hash, a failure's ``error_detail``) go in the same statement through
UPDATE … FROM (VALUES …), so nothing is written per row.
"""

import contextlib
import queue
import threading
from collections import Counter, defaultdict
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from delivery.codes import bounded
from delivery.models import Message
from segments.actions.ingest import retire_devices

SENT_KEY = (Message.Status.SENT, "", None, True, "")


class Outcomes:
    """Outcomes of a batch, grouped so each group is one UPDATE; ``save`` writes what is
    recorded so far and may be called again as more answers come back."""

    def __init__(self, now, *, token=None, lock=None, version=1):
        self.now = now
        self.version = version  # of the contents the sent rows were rendered with
        self.token = token  # record only rows this claim still holds (None: any)
        self.lock = lock or contextlib.nullcontext()
        self.groups = defaultdict(list)  # (status, code, not_before, tried, hold reason) -> [message id]
        # message id -> its error_detail: per row, outside the group key, so rows whose details
        # differ (a Linked Content URL per person) still share their group's one UPDATE.
        self.details = {}
        self.hashes = {}  # message id -> payload hash, for sent rows
        self.retire = set()
        self.saved = Counter()  # status -> rows saved
        self.holds = set()  # each distinct time saved rows are held until

    def sent(self, row):
        self.groups[SENT_KEY].append(row["id"])

    def fail(self, row, code, *, detail="", tried=False):
        self._add((Message.Status.FAILED, code, None, tried, ""), row, detail)

    def drop(self, row, code, *, tried=False):
        self._add((Message.Status.DROPPED, code, None, tried, ""), row)

    def hold(self, row, until, reason, *, code="", detail="", tried=False):
        """Held until ``until`` for ``reason`` (``Message.HoldReason``): recorded where the
        pipeline decides it, saved in its group's UPDATE; ``code`` is a retry's provider code."""
        # Whole seconds: rows of one batch waiting for the same moment share one UPDATE.
        until = until.replace(microsecond=0) + (timedelta(seconds=1) if until.microsecond else timedelta())
        self._add((Message.Status.HELD, code, until, tried, reason), row, detail)

    def _add(self, key, row, detail=""):
        self.groups[key].append(row["id"])
        if detail:
            self.details[row["id"]] = bounded(detail, Message.DETAIL_LENGTH)

    def detach(self):
        """What is recorded so far, as Outcomes of their own to save (``Recorder``); this one
        goes on empty. ``merge`` brings back what they saved."""
        taken = Outcomes(self.now, token=self.token, lock=self.lock, version=self.version)
        taken.groups, self.groups = self.groups, defaultdict(list)
        taken.details, self.details = self.details, {}
        taken.retire, self.retire = self.retire, set()
        # The hashes of the sent rows going along; the others' are still to be sent.
        taken.hashes = {pk: self.hashes.pop(pk) for pk in taken.groups.get(SENT_KEY, ())}
        return taken

    def merge(self, saved):
        self.saved.update(saved.saved)
        self.holds |= saved.holds

    def fill(self, report):
        for status, count in self.saved.items():
            setattr(report, status, getattr(report, status) + count)
        report.holds = sorted(self.holds)

    def save(self):
        if not self.groups and not self.retire:
            return
        with self.lock, transaction.atomic():
            at = timezone.now()
            for (status, code, not_before, tried, reason), ids in self.groups.items():
                self.saved[status] += len(ids)
                if not_before:
                    self.holds.add(not_before)
                if status == Message.Status.SENT:
                    self._save_sent(ids, at)
                    for pk in ids:
                        del self.hashes[pk]  # the others' are still to come: set when rendered
                    continue
                # sent_at: a slot taken for a push that did not go is given back (limits.cap_slots).
                fields = {"status": status, "code": code, "not_before": not_before, "hold_reason": reason}
                fields["sent_at"] = None
                fields |= {"claimed_until": None, "updated_at": at}
                detailed = [pk for pk in ids if pk in self.details]
                if detailed:
                    self._save_detailed(detailed, fields, tried)
                plain = [pk for pk in ids if pk not in self.details] if detailed else ids
                fields["error_detail"] = ""
                if tried:
                    fields["attempts"] = F("attempts") + 1
                for start in range(0, len(plain), 1000):
                    rows = Message.objects.filter(pk__in=plain[start : start + 1000])
                    if self.token:
                        rows = rows.filter(claim_token=self.token)
                    rows.update(**fields)
                for pk in detailed:
                    del self.details[pk]
            if self.retire:
                retire_devices(self.retire)
        self.groups.clear()
        self.retire.clear()

    def _save_sent(self, ids, at):
        """Sent rows and each one's payload hash in one UPDATE … FROM (VALUES …) per thousand
        rows (PostgreSQL, SQLite 3.33+). The ORM's way, a CASE with a WHEN per row, spent
        longer building the query than the database spent running it."""
        now = connection.ops.adapt_datetimefield_value(at)
        sets = (
            "status = %s, code = '', not_before = NULL, hold_reason = '', error_detail = '', claimed_until = NULL,"
            " attempts = attempts + 1, sent_at = %s, updated_at = %s, version = %s"
        )
        self._update_each(ids, "payload_hash", self.hashes, sets, [Message.Status.SENT, now, now, self.version])

    def _save_detailed(self, ids, fields, tried):
        """Rows of one outcome group with each one's ``error_detail``, the same way."""
        adapt = connection.ops.adapt_datetimefield_value
        names = ("status", "code", "not_before", "hold_reason", "claimed_until", "sent_at", "updated_at")
        values = [adapt(fields[name]) if name in ("not_before", "updated_at") else fields[name] for name in names]
        sets = ", ".join(f"{name} = %s" for name in names) + (", attempts = attempts + 1" if tried else "")
        self._update_each(ids, "error_detail", self.details, sets, values)

    def _update_each(self, ids, column, values_of, sets, params):
        """UPDATE … SET ``sets`` (with ``params``) and ``column`` = each row's ``values_of[id]``,
        a thousand rows a statement. PostgreSQL takes the ids and values as two arrays
        (``unnest``): a statement of four parameters, whose text psycopg parses once and keeps,
        where a VALUES list of 2,000 placeholders was parsed again for every group (4 % of the
        sender's CPU, bench/README.md); SQLite gets the VALUES list."""
        table = Message._meta.db_table
        mine = f" AND {table}.claim_token = %s" if self.token else ""
        arrays = connection.vendor == "postgresql"
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            if arrays:
                rows = "unnest(%s::bigint[], %s::text[]) AS v(column1, column2)"
                chunk_params = [*params, chunk, [values_of[pk] for pk in chunk]]
            else:
                rows = "(VALUES " + ", ".join(["(%s, %s)"] * len(chunk)) + ") AS v"
                chunk_params = list(params)
                for pk in chunk:
                    chunk_params += [pk, values_of[pk]]
            sql = (
                f"UPDATE {table} SET {sets}, {column} = v.column2"  # noqa: S608 (our names; values are parameters)
                f" FROM {rows} WHERE {table}.id = v.column1{mine}"
            )
            if self.token:
                chunk_params.append(self.token)
            with connection.cursor() as cursor:
                cursor.execute(sql, chunk_params)


class Recorder:
    """Saves a batch's groups of outcomes on a thread of its own while the sends go on (a
    context manager; ``delivery/actions/sending.py``): the event loop is paused only while
    the answers are sorted into groups, not through each group's UPDATE and commit, about a
    tenth of the sending process's time, waiting (py-spy, bench/README.md).

    At most ``BACKLOG`` groups wait behind the one being saved (``save`` blocks beyond), so a
    worker that dies sends again only its pushes in flight and those few groups. Groups are
    saved in order; the first error is raised to the caller at its next ``save`` or at the
    end. The thread has its own connection, so its writes commit on their own: inside a
    transaction (the tests' ``db`` fixture, a caller's ``atomic``), or on SQLite (one
    writer), the groups are saved on the caller's thread as before."""

    BACKLOG = 2

    def __init__(self, outcomes):
        self.outcomes = outcomes
        self.threaded = connection.vendor == "postgresql" and not connection.in_atomic_block
        self.saved = []
        self.error = None
        if self.threaded:
            self._queue = queue.Queue(maxsize=self.BACKLOG)
            self._thread = threading.Thread(target=self._run, name="outcomes", daemon=True)

    def __enter__(self):
        if self.threaded:
            self._thread.start()
        return self

    def save(self):
        """Save what the outcomes hold so far (on the thread, or now)."""
        if not self.threaded:
            self.outcomes.save()
            return
        self._raise()
        taken = self.outcomes.detach()
        if taken.groups or taken.retire:
            self._queue.put(taken)

    def __exit__(self, *exc):
        if not self.threaded:
            return
        self._queue.put(None)
        self._thread.join()
        for taken in self.saved:
            self.outcomes.merge(taken)
        if exc[0] is None:
            self._raise()

    def _raise(self):
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def _run(self):
        try:
            while (taken := self._queue.get()) is not None:
                if self.error is None:  # after a failure the rest stays unsaved, as it would inline
                    try:
                        taken.save()
                    except Exception as error:  # raised on the caller's thread
                        self.error = error
                        continue
                    self.saved.append(taken)
        finally:
            connection.close()  # this thread's connection
