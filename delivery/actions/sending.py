"""The send pipeline (DESIGN.md "How a scheduled run flows", step 3): one batch of one dispatch.

``send_batch`` claims up to ``DELIVERY_BATCH_SIZE`` ready rows in one statement, decides each in
memory (unreachable, cut-off, the user's time zone, DND, frequency caps, throttle), renders
Liquid once per variant and distinct value of the profile fields it reads (``rendering.py``),
sends through the providers (their connection pools live on one event loop per process, so
they outlive a batch) and records the outcomes as the answers come back, a group of about
``RECORD_EVERY`` at a time, with one UPDATE per outcome group (saved on a thread of its own
while the sends go on: ``outcomes.Recorder``).
Nothing in the loop queries per row.

Delivery is at-least-once with collapse: a row is claimed (``sending`` until ``claimed_until``,
renewed while the batch works: ``delivery/actions/claims.py``) before its send and marked
after. A worker that dies in between stops renewing; once the lease runs out the row is
claimed again and the resend carries the same collapse key (Web Push Topic, apns-collapse-id,
FCM collapse_key, the notification tag), so the person sees one notification. Recording in
groups keeps what a death sends twice to the pushes in flight and one unrecorded group.
"""

import asyncio
import atexit
import contextlib
import hashlib
import logging
import os
import threading
import time
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from delivery import content as liquid
from delivery import vapid
from delivery.actions import limits, retries
from delivery.actions.claims import Ahead, claim_batch
from delivery.actions.outcomes import Outcomes, Recorder
from delivery.actions.rendering import Renderer, is_personal, read_profiles
from delivery.linked import LinkedContentError
from delivery.models import DeliverySettings, Dispatch, Message
from delivery.payloads import AES128GCM_HEADER, AES128GCM_RECORD_OVERHEAD, MAX_PUSH_BYTES, Payloads
from delivery.providers.base import Outcome, Push
from delivery.providers.registry import MISSING_CREDENTIALS, Providers
from delivery.throttle import Throttle
from segments.actions.ingest import retire_devices
from segments.models import Device

try:
    import uvloop
except ImportError:  # not built for every platform (Windows): asyncio's own loop does the same work
    uvloop = None

log = logging.getLogger(__name__)

RENDER_FAILED = "render_failed"
LINKED_CONTENT_FAILED = "linked_content_failed"
PAYLOAD_TOO_LARGE = "payload_too_large"
SAFARI_EXCLUDED = "safari_excluded"  # the content says "All browsers but Safari"
Hold = Message.HoldReason  # why a held row waits (cleared when it is sent)

PENDING = (Message.Status.QUEUED, Message.Status.SENDING, Message.Status.HELD)
ROW_FIELDS = (
    "id",
    "profile_id",
    "device_id",
    "variant",
    "context",
    "attempts",
    "device__platform",
    "device__browser",
    "device__endpoint",
    "device__p256dh",
    "device__auth",
    "device__token",
    "device__push_status",
    "device__retired_at",
    "profile__timezone",
)
URGENCY_OF_ANDROID_PRIORITY = {"max": "high", "high": "high"}
# Answers are recorded in groups of this many (or what came back within RECORD_WAIT seconds,
# when a few slow pushes hold up the rest) while the rest of the batch is in flight: a worker
# killed mid-batch then sends again only its pushes in flight and one unrecorded group, not the
# whole batch (the kill test: 249 pushes sent twice with 250-row batches recorded at the end,
# 0 to 49 in groups). Each group is one short transaction: bench/send.py measured no
# difference in messages per CPU second.
RECORD_EVERY = 100
RECORD_WAIT = 0.25
# Pushes per ``send_many`` call: small, so a slow push holds back few answers; more than one,
# because a call per push cost the worker a tenth more CPU per push (bench/send.py).
SEND_PART = 10
# A send task sends batches of its dispatch for about this long, each next one claimed while
# the one before sends, then queues the next task: the task's hand-over and the claim no
# longer stand between two batches (bench/README.md, send.py, fifth pass), and a dispatch
# still lets the others' tasks have the worker every few seconds.
TASK_SECONDS = 5


@dataclass
class Report:
    """What one batch did, for the task that queues the next and for tests."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    held: int = 0
    dropped: int = 0
    more: bool = False  # the claim was full: more rows may be ready
    holds: list = field(default_factory=list)  # each distinct time rows held by this batch come due


def send_batches(dispatch_id, *, size=None, seconds=None):
    """Send batches of a dispatch one after another for about ``seconds`` (``TASK_SECONDS``),
    each next one claimed ahead while the one before sends (``claims.Ahead``); yields a
    ``Report`` per batch. The last one's ``more`` says whether rows may be left: then the
    caller queues another task, which lets other dispatches' tasks have the worker between."""
    size = size or settings.DELIVERY_BATCH_SIZE
    until = time.monotonic() + (TASK_SECONDS if seconds is None else seconds)
    ahead = Ahead(dispatch_id, size, ROW_FIELDS, _read_ahead)
    try:
        claimed = claim_batch(dispatch_id, size, ROW_FIELDS, _read_ahead)
        while claimed is not None:
            with claimed:
                if claimed.full and time.monotonic() < until:
                    ahead.start()
                report = _send(claimed)
            if not report.more:
                finish_if_done(dispatch_id)
            yield report
            claimed = ahead.take()
    finally:
        ahead.release()


def send_batch(dispatch_id, *, size=None):
    """One batch of a dispatch (tests, bench/send.py): its ``Report``, or None when the dispatch
    is not sending."""
    with contextlib.closing(send_batches(dispatch_id, size=size, seconds=0)) as reports:
        return next(reports, None)


def _read_ahead(claimed):
    """Read with a batch's claim (on the claim thread when claimed ahead): its people, when
    the contents are personal (``Renderer``)."""
    if claimed.rows and is_personal(claimed.dispatch.contents):
        # By the claim's token, as the rows were: a thousand ids bound one by one cost Django
        # more than the read (bench/README.md, send.py, fifth pass).
        mine = Message.objects.filter(dispatch_id=claimed.dispatch.pk, claim_token=claimed.token)
        return read_profiles(mine.values("profile_id"))
    return None


def _send(claimed):
    report = Report(claimed=len(claimed.rows), more=claimed.full)
    if claimed.rows:
        batch = Batch(
            claimed.dispatch, claimed.now, token=claimed.token, lock=claimed.keeper.writing, profiles=claimed.read
        )
        batch.decide_and_send(claimed.rows).fill(report)
    return report


def resend(message_ids):
    """Send these sent messages once more, as they were (push amplification,
    ``delivery/actions/amplification.py``): the same collapse key, so a device that still shows the
    first copy replaces it. Their rows stay as they are; a subscription found gone still
    retires its device. A message whose campaign's What changed since is not sent again.
    Returns how many the push services accepted."""
    # Only those whose dispatch still holds the contents they were sent with: after a
    # change of the campaign's What (a new ``Dispatch.version``) the old text is gone from
    # the dispatch, and a resend would show a text that message never had.
    rows = Message.objects.filter(
        pk__in=list(message_ids), status=Message.Status.SENT, version=F("dispatch__version")
    ).values(*ROW_FIELDS, "dispatch_id")
    by_dispatch = defaultdict(list)
    for row in rows:
        by_dispatch[row["dispatch_id"]].append(row)
    accepted = 0
    for dispatch in Dispatch.objects.filter(pk__in=by_dispatch):
        accepted += Batch(dispatch, timezone.now()).send_again(by_dispatch[dispatch.pk])
    return accepted


def finish_if_done(dispatch_id):
    """A sending dispatch with nothing queued, in flight or held is done."""
    pending = Message.objects.filter(dispatch=OuterRef("pk"), status__in=PENDING)
    return bool(
        Dispatch.objects.filter(pk=dispatch_id, status=Dispatch.Status.SENDING)
        .exclude(Exists(pending))
        .update(status=Dispatch.Status.DONE, finished_at=timezone.now())
    )


class Batch:
    """``token``: the claim whose rows these are (recorded only while they carry it); ``lock``
    is held while recording (the claim keeper's, ``delivery/actions/claims.py``); ``profiles``:
    the batch's people, read with its claim (``_read_ahead``), else read when rendering."""

    def __init__(self, dispatch, now, *, token=None, lock=None, profiles=None):
        self.dispatch = dispatch
        self.now = now
        self.rules = limits.Rules.parse(dispatch.rules)
        self.settings = DeliverySettings.load()
        # Sent rows record the version of the contents they were rendered with: this
        # batch's copy of the dispatch (a change of the campaign's What may replace it meanwhile).
        self.outcomes = Outcomes(now, token=token, lock=lock, version=dispatch.version)
        self.profiles = profiles  # the batch's people as ``read_profiles`` gives them, when read ahead

    def decide_and_send(self, rows):
        candidates = [row for row in rows if self.may_go_now(row)]
        candidates = self.apply_caps_and_throttle(candidates)
        with Recorder(self.outcomes) as recorder:
            for group in self.send(candidates):
                answered = timezone.now()
                for row, result in group:
                    self.record(row, result, answered)
                recorder.save()
        self.outcomes.save()  # what was decided without a send, when nothing was sent
        return self.outcomes

    def send_again(self, rows):
        rows = [row for row in rows if _reachable(row)]
        results = [result for group in self.send(rows) for _, result in group]
        retire_devices({result.device_id for result in results if result.retire_device})
        return sum(result.outcome == Outcome.SENT for result in results)

    def send(self, rows):
        """Render and send; yields the providers' results in groups, [(row, result)], as they
        come back (rows that could not be sent are in outcomes)."""
        providers = Providers(self.settings, vapid.current())
        renderer = Renderer(self.dispatch.contents, {row["profile_id"] for row in rows}, profiles=self.profiles)
        groups = defaultdict(list)  # provider -> [(row, push)]
        payloads = Payloads()
        for row in rows:
            platform = row["device__platform"]
            provider = providers.for_platform(platform)
            if provider is None:
                self.outcomes.fail(row, MISSING_CREDENTIALS.get(platform, "dispatch_failed"))
                continue
            push = self.push_for(row, renderer, payloads)
            if push is not None:
                groups[provider].append((row, push))
        for provider, items in groups.items():
            yield from answers_in_groups(provider, items)

    # -- deciding ----------------------------------------------------------------------

    def may_go_now(self, row):
        """False when the row is dropped or held instead (recorded in outcomes)."""
        if not _reachable(row):
            self.outcomes.drop(row, limits.UNREACHABLE)
            return False
        if row["device__browser"] == Device.Browser.SAFARI and leaves_out_safari(self._content_of(row["variant"])):
            # Callers leave Safari out of such audiences; this guards a row enqueued anyway.
            self.outcomes.drop(row, SAFARI_EXCLUDED)
            return False
        if self.dispatch.is_test:
            return True
        tz = self.rules.zone_for(row["profile__timezone"])
        code, until, reason = self.rules.decide(self.now, tz, self.dispatch.started_at or self.now)
        if code:
            self.outcomes.drop(row, code)
        elif until is not None:
            self.hold(row, until, reason)
        return not code and until is None

    def _content_of(self, variant):
        contents = self.dispatch.contents or {}
        return contents.get(variant) or next(iter(contents.values()), {})

    def hold(self, row, until, reason, *, code="", detail="", tried=False):
        if self.rules.cutoff and until >= self.rules.cutoff and not self.dispatch.is_test:
            self.outcomes.drop(row, limits.CUTOFF_PASSED, tried=tried)
        else:
            self.outcomes.hold(row, until, reason, code=code, detail=detail, tried=tried)

    def apply_caps_and_throttle(self, candidates):
        if self.dispatch.is_test or not candidates:
            return candidates
        if self.rules.skip_global_limits:
            return self.throttled(candidates)
        profiles = {row["profile_id"] for row in candidates}
        # The rows that go take their people's slots before the profile locks are let go, so a
        # batch deciding at the same moment counts them (limits.cap_slots); ``outcomes.lock``
        # keeps the claim keeper's renewal of these rows out of the way meanwhile.
        caps = limits.cap_slots(profiles, self.settings, dispatch_id=self.dispatch.pk, now=self.now)
        with self.outcomes.lock, caps as slots:
            for row in candidates:
                if row["profile_id"] in slots.capped:
                    self.outcomes.drop(row, limits.FREQUENCY_CAP)
            going = self.throttled([row for row in candidates if row["profile_id"] not in slots.capped])
            slots.take([row["id"] for row in going], self.now)
        return going

    def throttled(self, candidates):
        throttle = Throttle(self.settings.throttle_per_15_min)
        granted = throttle.take(len(candidates), self.now)
        for row in candidates[granted:]:
            self.hold(row, throttle.next_interval(self.now), Hold.THROTTLE)
        return candidates[:granted]

    # -- rendering -----------------------------------------------------------------------

    def push_for(self, row, renderer, payloads):
        try:
            content = renderer.content(row["profile_id"], row["variant"], row["context"])
        except liquid.ContentError as error:
            log.info("message %s: %s -> %s", row["id"], error, RENDER_FAILED)
            self.outcomes.fail(row, RENDER_FAILED, detail=f"render error in {error.field}: {error.message}")
            return None
        except LinkedContentError as error:
            log.info("message %s: linked content: %s -> %s", row["id"], error, LINKED_CONTENT_FAILED)
            # The message names the URL without its query, which may hold a key (delivery/linked.py).
            self.outcomes.fail(row, LINKED_CONTENT_FAILED, detail=f"Linked Content {error.message}")
            return None
        platform = row["device__platform"]
        collapse_key = (
            content.get("collapse_key") or f"{self.rules.collapse_prefix}{self.dispatch.pk}-{row['device_id']}"
        )
        payload, data = payloads.build(platform, content, message_id=row["id"], collapse_key=collapse_key)
        size = len(data) + (AES128GCM_HEADER + AES128GCM_RECORD_OVERHEAD if platform == "web" else 0)
        if size > MAX_PUSH_BYTES:
            self.outcomes.fail(row, PAYLOAD_TOO_LARGE)
            return None
        self.outcomes.hashes[row["id"]] = hashlib.sha256(data).hexdigest()
        urgency = URGENCY_OF_ANDROID_PRIORITY.get(content.get("android_priority"), self.rules.urgency)
        ttl = content.get("ttl") if platform == "web" and content.get("ttl") not in (None, "") else self.rules.ttl
        return Push(
            device_id=row["device_id"],
            payload=payload,
            browser=row["device__browser"],
            endpoint=row["device__endpoint"],
            p256dh=row["device__p256dh"],
            auth=row["device__auth"],
            token=row["device__token"],
            ttl=int(ttl),
            urgency=urgency if platform != "ios" else self.rules.urgency,
            collapse_key=collapse_key,
            message_id=row["id"],
            body=data,
        )

    # -- recording -----------------------------------------------------------------------

    def record(self, row, result, answered):
        if result.outcome == Outcome.SENT:
            self.outcomes.sent(row)
            return
        if result.retire_device:
            self.outcomes.retire.add(row["device_id"])
        tries = row["attempts"] + 1
        allowed = retries.tries_allowed(row["device__platform"], row["device__browser"])
        detail = answer_detail(result)
        if result.outcome == Outcome.RETRY and tries < allowed:
            delay = retries.retry_delay(tries, result.retry_after)
            # From the answer, not the batch's start: a Retry-After counts from when it was said.
            until = answered + timedelta(seconds=delay)
            self.hold(row, until, Hold.RETRY, code=result.code, detail=detail, tried=True)
        else:
            self.outcomes.fail(row, result.code, detail=detail, tried=True)


def answer_detail(result):
    """What the push service said beyond our code, for ``Message.error_detail``: its HTTP
    status, and the wait it asked for (Retry-After). Never its body."""
    said = [f"HTTP {result.status}"] if result.status else []
    if result.retry_after is not None:
        said.append(f"the push service asked to wait {result.retry_after:g} s")
    return ", ".join(said)


def leaves_out_safari(content):
    """Whether web push content was made for "All browsers but Safari" (``browsers`` in
    ``delivery/content.py``): Safari devices are not sent it."""
    return (content or {}).get("browsers") == "not_safari"


def safari_left_out(contents):
    """Whether every variant of a dispatch's ``contents`` leaves Safari out, so an audience
    query can leave Safari devices out before any row is written."""
    return bool(contents) and all(leaves_out_safari(content) for content in contents.values())


def _reachable(row):
    address = row["device__endpoint"] if row["device__platform"] == Device.Platform.WEB else row["device__token"]
    return bool(address) and row["device__push_status"] == Device.PushStatus.ALLOWED and not row["device__retired_at"]


def answers_in_groups(provider, items, *, size=RECORD_EVERY, wait=RECORD_WAIT, part=SEND_PART):
    """Send ``items`` ([(row, push)]) through ``provider`` and yield [(row, result)] as the
    answers come back: about ``size`` at a time, or what came within ``wait`` seconds.

    The pushes run on the process's event loop (``_runner``) and share the provider's pool:
    through its ``send_stream`` when it has one (the pooled HTTP providers: an answer at a
    time), else in ``send_many`` calls of ``part`` pushes; at most ``provider.concurrency``
    pushes at once, as one call for the whole batch would. The loop is paused while the caller handles a group,
    so it may use the database (Django refuses to from a running loop); a pause of a few
    milliseconds leaves answers waiting in the socket buffers."""
    if _loop_running():
        # This thread already runs a loop (Playwright's sync API in tests) that cannot be
        # paused: the provider runs the sends on a thread of its own, answered all at once.
        answers = provider.send_many_sync([push for _, push in items])
        yield list(zip([row for row, _ in items], answers, strict=True))
        return
    done, failure = [], []
    left = len(items)

    async def start():
        ready = asyncio.Event()
        if hasattr(provider, "send_stream"):
            return ready, [asyncio.ensure_future(stream(ready))]
        gate = asyncio.Semaphore(max(1, getattr(provider, "concurrency", 100) // part))

        async def send(chunk):
            nonlocal left
            try:
                async with gate:
                    answers = await provider.send_many([push for _, push in chunk])
                done.extend(zip([row for row, _ in chunk], answers, strict=True))
            except Exception as error:  # raised to the caller below, as gather would
                failure.append(error)
            left -= len(chunk)
            if len(done) >= size or not left or failure:
                ready.set()

        tasks = [asyncio.ensure_future(send(items[at : at + part])) for at in range(0, len(items), part)]
        return ready, tasks

    async def stream(ready):
        # The pooled HTTP providers answer push by push from lanes of their own (pooled.py).
        def answered(index, answer):
            nonlocal left
            done.append((items[index][0], answer))
            left -= 1
            if len(done) >= size or not left:
                ready.set()

        try:
            await provider.send_stream([push for _, push in items], answered)
        except Exception as error:  # raised to the caller below
            failure.append(error)
            ready.set()

    async def some(ready):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), wait)
        ready.clear()

    runner = _runner()
    if not provider.pool_per_loop or time.monotonic() - _pool_used.get(provider, 0) > POOL_IDLE:
        # A pool idle this long may hold connections the push service has closed meanwhile
        # (the loop was paused, so it never heard): start afresh rather than fail pushes on them.
        runner.run(provider.aclose())
    tasks = []
    try:
        ready, tasks = runner.run(start())  # the tasks are kept: the loop holds them weakly
        while True:
            if left and not failure:
                runner.run(some(ready))
            if done:
                group, done[:] = done[:], []
                yield group
            if failure:
                raise failure[0]
            if not left:
                break
    finally:
        # The loop outlives the batch: a push still pending (the caller failed, or stopped
        # reading) must not go out later, unrecorded, when the next batch runs the loop.
        runner.run(_cancelled(tasks))
        if provider.pool_per_loop:
            _pool_used[provider] = time.monotonic()
        else:
            runner.run(provider.aclose())


# Seconds a provider's pool may sit unused on the paused loop and still be used: below the
# keep-alive time of aiohttp (15 s) and of push services (FCM and autopush keep idle
# connections open for minutes), so a connection reused after a pause is one still open.
POOL_IDLE = 10
_pool_used = weakref.WeakKeyDictionary()  # provider -> when its pool last sent (time.monotonic())
_local = threading.local()


def _runner():
    """This thread's event loop for sending, kept for the life of the process, so connection
    pools and their keep-alive connections outlive a batch (a fresh loop per batch opened
    about 200 connections a batch). uvloop's loop when it is installed (requirements.txt):
    its transports and callbacks cost less CPU per push than asyncio's (bench/README.md)."""
    runner = getattr(_local, "runner", None)
    if runner is None or _local.pid != os.getpid():  # a forked child makes its own
        _local.runner, _local.pid = asyncio.Runner(loop_factory=_loop_factory()), os.getpid()
        runner = _local.runner
        atexit.register(_close, runner)
    return runner


def _close(runner):
    """At exit: the pools this loop kept open, closed as their sessions ask (no warnings)."""
    with contextlib.suppress(RuntimeError):  # the loop is already closed, or running
        for provider in list(_pool_used):
            runner.run(provider.aclose())
        runner.close()


def _loop_factory():
    return uvloop.new_event_loop if uvloop else None


async def _cancelled(tasks):
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _loop_running():
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def sweep(now=None):
    """Housekeeping for every dispatch (run by beat through ``sweep_expired_claims``):

    - rows whose claim outlived its lease (the worker died or hung between claim and record)
      are queued again; their resend carries the same collapse key;
    - rows a stopped dispatch still has queued or held (a batch in flight held them after the
      stop) are dropped;
    - sending dispatches with nothing left are marked done.

    Returns the ids of sending dispatches with rows ready now, to be given a send task."""
    now = now or timezone.now()
    expired = Message.objects.filter(status=Message.Status.SENDING, claimed_until__lt=now)
    requeued = expired.update(status=Message.Status.QUEUED, claimed_until=None, sent_at=None, updated_at=now)
    if requeued:
        log.warning("sweep: %s messages outlived their claim and are queued again", requeued)
    Message.objects.filter(
        dispatch__status=Dispatch.Status.STOPPED, status__in=[Message.Status.QUEUED, Message.Status.HELD]
    ).update(status=Message.Status.DROPPED, code="stopped", not_before=None, updated_at=now)
    ready = Message.objects.filter(dispatch=OuterRef("pk")).filter(
        Q(status=Message.Status.QUEUED) | Q(status=Message.Status.HELD, not_before__lte=now)
    )
    sending = Dispatch.objects.filter(status=Dispatch.Status.SENDING)
    for dispatch_id in sending.values_list("pk", flat=True):
        finish_if_done(dispatch_id)
    return list(sending.filter(Exists(ready)).values_list("pk", flat=True))
