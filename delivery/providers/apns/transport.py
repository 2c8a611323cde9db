"""APNs over HTTP/2 with token (.p8) auth, through aioapns' connection pool.

aioapns signs its own JWT in every new connection (``JWTAuthorizationHeaderProvider``, a token
per connection, renewed every 30 minutes), which is the per-process token issue #6 forbids.
Its connections take any ``AuthorizationHeaderProvider``, so the smallest clean change is a
pool that hands each connection ours, whose header is the token shared through Django's
cache (``token.py``). The pool subclass also sets the host and port (production, sandbox or
a local service in tests), a connect timeout, and forgets a request whose caller gave up.
"""

import asyncio
import hashlib
import logging
import ssl
import string
import time
from functools import partial

from aioapns.common import PRIORITY_HIGH, PRIORITY_NORMAL, NotificationRequest, PushType
from aioapns.connection import (
    APNsBaseConnectionPool,
    APNsTLSClientProtocol,
    AuthorizationHeaderProvider,
)
from aioapns.exceptions import ConnectionClosed, ConnectionError, MaxAttemptsExceeded
from asgiref.sync import sync_to_async

from delivery.providers.apns.errors import BAD_TOKEN, EMPTY_PAYLOAD, NO_ANSWER, NO_TOKEN, TOKEN_REJECTED, answer_for
from delivery.providers.apns.token import ProviderToken, TokenUnavailable
from delivery.providers.base import Outcome, Provider, result

log = logging.getLogger(__name__)

PRODUCTION_HOST = "api.push.apple.com"
SANDBOX_HOST = "api.sandbox.push.apple.com"
PORT = 443
CONNECT_TIMEOUT = 10  # seconds, the seed's connection timeout
READ_TIMEOUT = 30  # seconds for one push, from waiting for a connection to the answer
MAX_COLLAPSE_ID = 64  # bytes, Apple's limit on apns-collapse-id
HEX = set(string.hexdigits)


def collapse_id_for(key):
    """Apple: apns-collapse-id must not exceed 64 bytes. A longer key becomes its SHA-256 in
    hex (64 characters), the same on every resend of the message."""
    text = str(key)
    if len(text.encode()) <= MAX_COLLAPSE_ID:
        return text
    return hashlib.sha256(text.encode()).hexdigest()


def apns_payload(payload):
    """Clarion's rendered payload as an APNs one. A payload that already has ``aps`` is sent as it
    is; otherwise title, subtitle and body make the alert, badge and sound go into ``aps``, and
    the rest (a deep link, a campaign id) are custom keys beside it. Without an alert it is a
    background push (``content-available``)."""
    if "aps" in payload:
        return payload
    alert = {k: payload[k] for k in ("title", "subtitle", "body") if payload.get(k)}
    aps = {k: payload[k] for k in ("badge", "sound") if k in payload}
    if alert:
        aps["alert"] = alert
    elif not aps:
        aps["content-available"] = 1
    custom = {k: v for k, v in payload.items() if k not in {"title", "subtitle", "body", "badge", "sound"}}
    return {"aps": aps, **custom}


def is_background(message):
    aps = message.get("aps", {})
    return bool(aps.get("content-available")) and not ({"alert", "badge", "sound"} & set(aps))


class SharedTokenAuth(AuthorizationHeaderProvider):
    """The ``authorization`` header of every connection of one provider: the shared token."""

    def __init__(self):
        self.token = None
        self.issued_at = 0

    def __repr__(self):
        return "<SharedTokenAuth>"  # the token stays out of debug output

    def get_header(self):
        return f"bearer {self.token}"


class Connection(APNsTLSClientProtocol):
    async def send_notification(self, request):
        try:
            return await super().send_notification(request)
        except asyncio.CancelledError:
            # The caller timed out. Without this aioapns would later set a result on the
            # cancelled future when the answer arrives, which breaks the whole connection.
            self.requests.pop(request.notification_id, None)
            raise


class SharedTokenPool(APNsBaseConnectionPool):
    def __init__(self, *, auth, host, port, ssl_context, connect_timeout, **options):
        super().__init__(**options)
        self.protocol_class = type("Connection", (Connection,), {"APNS_SERVER": host, "APNS_PORT": port})
        self.auth = auth
        self.ssl_context = ssl_context
        self.connect_timeout = connect_timeout

    async def create_connection(self):
        factory = partial(self.protocol_class, self.apns_topic, self.loop, self.discard_connection, self.auth)
        _, protocol = await asyncio.wait_for(
            self.loop.create_connection(
                factory, host=self.protocol_class.APNS_SERVER, port=self.protocol_class.APNS_PORT, ssl=self.ssl_context
            ),
            self.connect_timeout,
        )
        return protocol


def default_ssl_context(cafile=None):
    """The system's trust store (or ``cafile``, for a local service in tests), offering HTTP/2 by ALPN."""
    context = ssl.create_default_context(cafile=cafile)
    context.set_alpn_protocols(["h2"])
    return context


class APNsProvider(Provider):
    name = "apns"

    def __init__(
        self,
        signing_key,
        key_id,
        team_id,
        topic,
        *,
        sandbox=False,
        host=None,
        port=PORT,
        ssl_context=None,
        cache=None,
        max_connections=10,
        concurrency=500,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
    ):
        """``signing_key``: the .p8 file's PEM text; ``topic``: the app's bundle id.
        ``host``/``port``/``ssl_context`` point it at a local service in tests."""
        self.tokens = ProviderToken(signing_key, key_id, team_id, cache=cache)
        self.topic = topic
        self.host = host or (SANDBOX_HOST if sandbox else PRODUCTION_HOST)
        self.port = port
        self.ssl_context = ssl_context
        self.max_connections = max_connections
        self.concurrency = concurrency
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.auth = SharedTokenAuth()
        self._pool = None
        self._token_lock = None

    def __repr__(self):
        return f"<APNsProvider {self.topic} at {self.host}:{self.port}>"

    def _open(self):
        if self._pool is None:
            self._pool = SharedTokenPool(
                auth=self.auth,
                host=self.host,
                port=self.port,
                ssl_context=self.ssl_context or default_ssl_context(),
                connect_timeout=self.connect_timeout,
                topic=self.topic,
                max_connections=self.max_connections,
                max_connection_attempts=2,
            )
            self._token_lock = asyncio.Lock()
        return self._pool

    async def aclose(self):
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        pool.close()
        # A TLS close takes a few turns of the loop (close_notify both ways); wait for each
        # connection to report it is gone so ``asyncio.run`` does not close the loop under them.
        for _ in range(200):
            if not pool.connections:
                break
            await asyncio.sleep(0.01)

    async def _fresh_token(self, rejected=None):
        """Make the shared token the one our connections send; the cache is read only when the
        token we hold is due for reissue, or after APNs refused it."""
        async with self._token_lock:
            if rejected is not None and self.auth.token != rejected:
                return  # another push of ours already fetched a replacement
            if rejected is None and self.auth.token and not self._due():
                return
            fetch = partial(self.tokens.replace, rejected) if rejected else self.tokens.current
            self.auth.token, self.auth.issued_at = await sync_to_async(fetch)()

    def _due(self):
        return time.time() - self.auth.issued_at >= self.tokens.reissue_after

    async def send_many(self, pushes):
        pool = self._open()
        gate = asyncio.Semaphore(self.concurrency)

        async def send(push):
            async with gate:
                return await self.send_one(pool, push)

        return await asyncio.gather(*(send(push) for push in pushes))

    async def send_one(self, pool, push):
        token = push.token.strip()
        if not token or not set(token) <= HEX:
            log.info("apns: device %s not sent: the device token is not hex -> apns_token_format", push.device_id)
            return result(push, BAD_TOKEN)
        if not push.payload:
            log.info("apns: device %s not sent: empty payload -> apns_empty_payload", push.device_id)
            return result(push, EMPTY_PAYLOAD)

        message = apns_payload(push.payload)
        background = is_background(message)
        collapse_key = push.collapse_key or push.message_id
        request = partial(
            NotificationRequest,
            device_token=token,
            message=message,
            time_to_live=max(0, int(push.ttl)),
            # Apple: background pushes must have priority 5; 10 delivers an alert at once.
            priority=PRIORITY_NORMAL if background or push.urgency in ("low", "very-low") else PRIORITY_HIGH,
            collapse_key=collapse_id_for(collapse_key) if collapse_key not in (None, "") else None,
            push_type=PushType.BACKGROUND if background else PushType.ALERT,
        )

        try:
            await self._fresh_token()
            # Taken before sending: if a concurrent push replaces the token meanwhile, we name the
            # older one as refused, and ``replace`` hands back the newer instead of issuing another.
            sent_with = self.auth.token
            response = await self._send(pool, request())
            if response.description in TOKEN_REJECTED:
                log.info("apns: provider token refused (%s); replacing it and trying once more", response.description)
                await self._fresh_token(rejected=sent_with)
                response = await self._send(pool, request())  # a new apns-id: it is a new request
        except TokenUnavailable:
            log.warning("apns: device %s: no provider token to send with -> apns_auth_error", push.device_id)
            return result(push, NO_TOKEN)
        except (TimeoutError, ConnectionError, ConnectionClosed, MaxAttemptsExceeded, OSError) as error:
            log.info("apns: device %s: no answer (%s) -> apns_unknown", push.device_id, type(error).__name__)
            return result(push, NO_ANSWER)

        status = int(response.status)
        answer = answer_for(status, response.description)
        if answer.outcome != Outcome.SENT:
            log.info("apns: device %s: HTTP %s %s -> %s", push.device_id, status, response.description, answer.code)
        return result(push, answer, status=status)

    async def _send(self, pool, request):
        return await asyncio.wait_for(pool.send_notification(request), self.read_timeout)
