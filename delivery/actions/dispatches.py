"""Making a dispatch, filling it with messages, and starting, pausing or stopping it.

A ``Dispatch`` is a batch of messages under one set of rules; campaigns makes one per run
(and live campaigns and test sends theirs) and decides who gets which variant, and who is
in the control group, before it enqueues the rows.

The ``rules`` keys (all optional) the pipeline reads (``delivery/actions/limits.py``):

  timezone            IANA name for local times of people without a valid time zone of
                      their own, and of ``user_timezone_at`` without a date; default UTC
  dnd                 {"start": "21:00", "end": "09:00", "action": "discard" | "delay"} in
                      each person's local time, or null for none. Discard drops the message
                      (``dnd_discarded``); delay holds it until the hours end
  cutoff              an aware ISO 8601 datetime after which nothing more is sent: what is
                      left is dropped (``cutoff_passed``), also a hold that would end after it
  skip_global_limits  true: the daily / weekly caps of ``DeliverySettings`` do not apply
                      (otherwise a capped person's message is dropped, ``frequency_cap``)
  ttl                 seconds a push service may keep the push for an offline device
                      (default a day; web content's own ``ttl`` wins)
  urgency             RFC 8030 urgency: very-low, low, normal (default), high
  user_timezone_at    a local wall time, "09:00" (that time on the day the dispatch starts, in
                      ``timezone``) or "2026-05-04T09:00": each message is held until that
                      time in its person's time zone; sent at once where it has passed
  collapse_prefix     put before "<dispatch id>-<device id>", the collapse key of each message
  best_time           {"fallback_hour": 10}: when the dispatch starts, each queued message is
                      held until its person's most engaged hour (``delivery/actions/besttime.py``),
                      within the next 24 hours; the fallback hour for too little history

Test dispatches (``is_test``) ignore DND, the caps, the throttle, the cut-off, the user's
time zone and best time: a test send goes out now.
"""

import json
from itertools import islice

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from delivery import counts as delivery_counts
from delivery.actions import besttime, inbox
from delivery.actions.limits import Rules
from delivery.models import Dispatch, Message
from delivery.tasks import send_batch

CHUNK = 1000
INSERT_CHUNK = 5000  # rows of one INSERT … unnest on PostgreSQL
FANOUT = 4  # send tasks started at once per dispatch; each queues the next while rows remain
STOPPED = "stopped"


def do_create_dispatch(*, channel, label, contents, rules=None, is_test=False, version=1):
    """``version``: the campaign's content version ``contents`` is (``Dispatch.version``)."""
    rules = rules or {}
    Rules.parse(rules)  # a malformed rule fails here, at the caller, not in a worker later
    return Dispatch.objects.create(
        channel=channel, label=label, contents=contents, rules=rules, is_test=is_test, version=version
    )


def do_enqueue(dispatch, rows):
    """Add messages: ``(profile_id, device_id, variant_key)``, optionally followed by
    ``not_before`` (an aware datetime: held until then, or None) and ``context`` (a dict of
    Liquid variables for this message only, e.g. ``{"event": {...}}``; None for none). A
    device already in the dispatch is skipped, so enqueueing the same audience twice is
    harmless. Returns how many rows were added.

    Rows are read from ``rows`` a chunk at a time (pass a generator: memory stays flat). On
    PostgreSQL a chunk is one ``INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING``, its
    row count what it added: the ORM's bulk_create spent most of a run's start building
    model instances and a VALUES list (bench/run.py). SQLite keeps bulk_create."""
    postgres = connection.vendor == "postgresql"
    insert, size = (_insert_unnest, INSERT_CHUNK) if postgres else (_insert_orm, CHUNK)
    added = 0
    rows = iter(rows)
    while chunk := list(islice(rows, size)):
        added += insert(dispatch, chunk)
    return added


def _insert_unnest(dispatch, chunk):
    profiles, devices, variants, statuses, not_befores, contexts = [], [], [], [], [], []
    for profile_id, device_id, variant, not_before, context in map(_padded, chunk):
        profiles.append(profile_id)
        devices.append(device_id)
        variants.append(variant or "")
        statuses.append(Message.Status.HELD if not_before else Message.Status.QUEUED)
        # Text, cast in SQL: a list of datetimes and Nones has no single array type to bind.
        not_befores.append(not_before.isoformat() if not_before else None)
        contexts.append(json.dumps(context) if context else None)
    now = timezone.now()
    table = Message._meta.db_table
    # The table name is ours and every value is a parameter.
    sql = (
        f"INSERT INTO {table} (dispatch_id, profile_id, device_id, variant, status, not_before, context,"  # noqa: S608
        " hold_reason, code, attempts, payload_hash, created_at, updated_at)"
        " SELECT %s, u.profile_id, u.device_id, u.variant, u.status, u.not_before::timestamptz, u.context::jsonb,"
        " CASE WHEN u.not_before IS NULL THEN '' ELSE %s END, '', 0, '', %s, %s"
        " FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[])"
        " AS u(profile_id, device_id, variant, status, not_before, context)"
        " ON CONFLICT DO NOTHING"
    )
    params = [dispatch.pk, _hold_reason(dispatch), now, now, profiles, devices, variants, statuses, not_befores]
    params.append(contexts)
    connection.ensure_connection()
    # A cursor binding its parameters on the server: Django's own (client-side binding)
    # quotes every array element into the SQL text in Python, most of this insert's time.
    # Same connection, so the same transaction as the caller's.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _padded(row):
    return (*row, *[None] * (5 - len(row)))


def _insert_orm(dispatch, chunk):
    messages = [_message(dispatch, *row) for row in chunk]
    # Counted over this chunk's devices only (the unique index), not the whole dispatch:
    # a count of the dispatch per call made a page-by-page caller quadratic.
    existing = Message.objects.filter(dispatch=dispatch, device_id__in={m.device_id for m in messages})
    before = existing.count()
    Message.objects.bulk_create(messages, ignore_conflicts=True)
    return existing.count() - before


def _message(dispatch, profile_id, device_id, variant="", not_before=None, context=None):
    status = Message.Status.HELD if not_before else Message.Status.QUEUED
    return Message(
        dispatch=dispatch,
        profile_id=profile_id,
        device_id=device_id,
        variant=variant or "",
        status=status,
        not_before=not_before,
        hold_reason=_hold_reason(dispatch) if not_before else "",
        context=context or None,
    )


def _hold_reason(dispatch):
    """Why a row enqueued with a ``not_before`` waits: a user-time-zone run's release in the
    person's zone (``user_timezone_at``), otherwise a time the caller scheduled."""
    rules = dispatch.rules or {}
    return Message.HoldReason.USER_TIME_ZONE if rules.get("user_timezone_at") else Message.HoldReason.SCHEDULED


def do_start(dispatch):
    """Open → sending, with the App Inbox copies its variants ask for (``delivery/actions/
    inbox.py``). The send tasks are queued once the caller's transaction commits, so a
    worker never looks for rows it cannot see yet. A best-time dispatch's rows are held
    until each person's hour first: its window starts now."""
    now = timezone.now()
    if (dispatch.rules or {}).get("best_time") and not dispatch.is_test and dispatch.status == Dispatch.Status.OPEN:
        besttime.hold_at_best_times(dispatch, now=now)
    changed = Dispatch.objects.filter(pk=dispatch.pk, status=Dispatch.Status.OPEN).update(
        status=Dispatch.Status.SENDING, started_at=now
    )
    dispatch.refresh_from_db(fields=["status", "started_at"])
    if changed:
        # Every send starts here once, its rows written: the one place for App Inbox copies.
        inbox.do_copy_to_inbox(dispatch, now=now)
        _queue_sends(dispatch)
    return dispatch


def do_pause(dispatch):
    """Stop claiming rows; a batch already claimed finishes. Nothing is dropped."""
    Dispatch.objects.filter(pk=dispatch.pk, status=Dispatch.Status.SENDING).update(status=Dispatch.Status.PAUSED)
    dispatch.refresh_from_db(fields=["status"])
    return dispatch


def do_resume(dispatch):
    changed = Dispatch.objects.filter(pk=dispatch.pk, status=Dispatch.Status.PAUSED).update(
        status=Dispatch.Status.SENDING
    )
    dispatch.refresh_from_db(fields=["status"])
    if changed:
        _queue_sends(dispatch)
    return dispatch


@transaction.atomic
def do_stop(dispatch, reason=STOPPED):
    """Stop for good: what is queued or held is dropped with ``reason`` as its code. A batch
    in flight still records what the push services answered for its rows."""
    now = timezone.now()
    Dispatch.objects.filter(pk=dispatch.pk).exclude(status__in=[Dispatch.Status.STOPPED, Dispatch.Status.DONE]).update(
        status=Dispatch.Status.STOPPED, finished_at=now
    )
    Message.objects.filter(dispatch=dispatch, status__in=[Message.Status.QUEUED, Message.Status.HELD]).update(
        status=Message.Status.DROPPED, code=reason[:40], not_before=None, updated_at=now
    )
    dispatch.refresh_from_db(fields=["status", "finished_at"])
    return dispatch


def do_replace_contents(dispatch_ids, contents, version):
    """Give unfinished dispatches new ``contents`` (only the variant keys each already has)
    as ``version``. Rows are rendered when a batch sends them, so the rows no batch has
    claimed yet go out with these; a batch in flight sends and records its rows with the
    contents and version it read. Returns {status: count} of the rows still to go."""
    changing = Dispatch.objects.select_for_update().filter(
        pk__in=dispatch_ids, status__in=[Dispatch.Status.OPEN, Dispatch.Status.SENDING, Dispatch.Status.PAUSED]
    )
    for dispatch in changing:
        dispatch.contents = {key: contents.get(key, old) for key, old in dispatch.contents.items()}
        dispatch.version = version
        dispatch.save(update_fields=["contents", "version"])
    return pending_counts(dispatch_ids)


def pending_counts(dispatch_ids):
    """{queued, held, sending} of the unfinished dispatches among ``dispatch_ids``: what a
    change of their contents would (queued, held) and would not (sending: claimed) reach."""
    pending = [Message.Status.QUEUED, Message.Status.HELD, Message.Status.SENDING]
    result = dict.fromkeys(pending, 0)
    rows = (
        Message.objects.filter(
            dispatch__in=dispatch_ids,
            dispatch__status__in=[Dispatch.Status.OPEN, Dispatch.Status.SENDING, Dispatch.Status.PAUSED],
            status__in=pending,
        )
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    result.update(dict(rows))
    return result


def counts(dispatch):
    """{queued, sending, sent, failed, held, dropped} for the dispatch: the engine's own view of
    its rows, from the same GROUP BY the pages' counts come from (``delivery.counts``)."""
    return delivery_counts.of_dispatches([dispatch.pk])[dispatch.pk].statuses


def _queue_sends(dispatch):
    ready = Message.objects.filter(dispatch=dispatch, status=Message.Status.QUEUED).count()
    tasks = max(1, min(FANOUT, -(-ready // settings.DELIVERY_BATCH_SIZE)))
    transaction.on_commit(lambda: [send_batch.delay(dispatch.pk) for _ in range(tasks)])
