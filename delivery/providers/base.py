"""The interface every push channel shares.

A provider takes ``Push`` objects (one message for one device, already rendered) and
answers one ``Result`` per push, in the same order. It never touches the database: the
pipeline turns results into ``Message`` rows, retries and retired devices. To add a
channel, copy ``sandbox/`` and fill in ``send_many``.
"""

import asyncio
import email.utils
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum

from accounts.params import LARGEST, int_between


class Outcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"  # final: do not send this message again
    RETRY = "retry"  # worth another try later (after retry_after when given)


@dataclass(frozen=True)
class Push:
    device_id: int
    payload: dict
    browser: str = ""
    # Web Push subscription (RFC 8030 endpoint, RFC 8291 keys), base64url as the browser gave them.
    endpoint: str = ""
    p256dh: str = ""
    auth: str = ""
    # FCM registration token or APNs device token.
    token: str = ""
    ttl: int = 24 * 3600  # seconds the push service may keep it for an offline device
    urgency: str = "normal"  # RFC 8030 §5.3: very-low, low, normal, high
    # Same key on a resend = the person sees one notification (DESIGN.md "at-least-once with collapse").
    collapse_key: str = ""
    message_id: int | str | None = None
    # ``payload`` as the JSON bytes a provider sends (``delivery.payloads.payload_bytes``), when
    # the pipeline already made them to check the size: so they are not made twice.
    body: bytes | None = None


@dataclass(frozen=True)
class Result:
    device_id: int
    outcome: Outcome
    code: str = ""  # an error code of 003_5fa3a9527161ed4d.txt; empty when sent
    status: int | None = None  # the push service's HTTP status, None when there was no answer
    retry_after: float | None = None  # seconds, when the service said how long to wait
    retire_device: bool = False  # the subscription or token is gone for good


@dataclass(frozen=True)
class Answer:
    code: str
    outcome: Outcome
    retire_device: bool = False


# How an HTTP push service's answer becomes a Clarion error code (Web Push / VAPID codes
# of the seed 003_5fa3a9527161ed4d.txt). FCM and APNs keep their own tables in their folders.
#
#   status  code                  outcome  retire  why
#   201     -                     sent     no      RFC 8030 §5: message accepted
#   3xx     end_point_invalid     failed   no      a push service answers 201; a redirect is never
#                                                  followed (it could point the worker anywhere)
#   400     bad_params            failed   no      malformed request (bad TTL, Topic, encoding)
#   401     bad_auth              failed   no      RFC 8292 §4: VAPID header missing or invalid
#   403     token_invalid         failed   no      RFC 8292 §4.2: the subscription was made with another key
#   404     end_point_invalid     failed   yes     RFC 8030 §7.3: no such (or expired) subscription
#   410     browser_unsubscribed  failed   yes     the person unsubscribed: the endpoint is gone
#   413     payload_too_large     failed   no      RFC 8030 §7.2: over 4096 bytes encrypted
#   429     dispatch_failed       retry    no      RFC 8030 §8.4: too many requests; honour Retry-After
#   5xx     server_issue          retry    no      the push service failed; Retry-After honoured if sent
#   other   bad_params            failed   no      an answer we do not understand is not worth repeating
#   none    dispatch_failed       retry    no      timeout or connection error (10 s to connect, seed)
HTTP_ANSWERS = {
    400: Answer("bad_params", Outcome.FAILED),
    401: Answer("bad_auth", Outcome.FAILED),
    403: Answer("token_invalid", Outcome.FAILED),
    404: Answer("end_point_invalid", Outcome.FAILED, retire_device=True),
    410: Answer("browser_unsubscribed", Outcome.FAILED, retire_device=True),
    413: Answer("payload_too_large", Outcome.FAILED),
    429: Answer("dispatch_failed", Outcome.RETRY),
}
SERVER_ISSUE = Answer("server_issue", Outcome.RETRY)
REDIRECTED = Answer("end_point_invalid", Outcome.FAILED)
NO_ANSWER = Answer("dispatch_failed", Outcome.RETRY)
UNKNOWN_ANSWER = Answer("bad_params", Outcome.FAILED)


def answer_for_status(status):
    if 200 <= status < 300:
        return Answer("", Outcome.SENT)
    if status >= 500:
        return SERVER_ISSUE
    if 300 <= status < 400:
        return REDIRECTED
    return HTTP_ANSWERS.get(status, UNKNOWN_ANSWER)


def answer_for_code(code):
    """The outcome a code stands for, so a provider that only knows a code (the sandbox) agrees."""
    for answer in (*HTTP_ANSWERS.values(), SERVER_ISSUE, NO_ANSWER):
        if answer.code == code:
            return answer
    return Answer(code, Outcome.FAILED)


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    seconds = int_between(value, 0, LARGEST)
    if seconds is not None:
        return float(seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def result(push, answer, *, status=None, retry_after=None):
    return Result(
        device_id=push.device_id,
        outcome=answer.outcome,
        code=answer.code,
        status=status,
        retry_after=retry_after,
        retire_device=answer.retire_device,
    )


class Provider:
    """Base class: subclasses implement ``send_many`` and, when they hold a connection pool, ``aclose``."""

    name = ""
    # True when the provider keeps a pool per event loop (``pooled.py``), so the pipeline's loop
    # may keep it open from one batch to the next; otherwise it is closed after each batch.
    pool_per_loop = False

    async def send_many(self, pushes):
        """Send concurrently; one Result per push, in order. Never raises for a single push's failure."""
        raise NotImplementedError

    async def aclose(self):
        """Close pooled connections. The provider can be used again afterwards (a new pool opens)."""

    def send_many_sync(self, pushes):
        """For synchronous callers (Celery tasks): one event loop and one pool per call."""

        async def send_then_close():
            try:
                return await self.send_many(pushes)
            finally:
                await self.aclose()

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(send_then_close())
        # This thread already runs an event loop (an async caller, or a library
        # such as Playwright's sync API in tests): asyncio.run() cannot nest, so the
        # sends get a thread and a loop of their own.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, send_then_close()).result()
