"""Web Push: aes128gcm encryption (RFC 8291) with pywebpush's encoder, VAPID (RFC 8292),
and the HTTP push protocol (RFC 8030) over one pooled aiohttp session.

Why aiohttp: pywebpush already depends on it, so it adds no package, and its connection
pool keeps keep-alive connections per push-service host across thousands of concurrent
posts. pywebpush's own ``webpush()`` opens a request per call; DESIGN.md measured ~820/s
that way against ~4,200/s encrypting with it and posting over one pooled session.

The endpoint came from a browser through the public SDK, so before each post it must be a
push service of ``WEBPUSH_ALLOWED_HOSTS`` (``segments.pushhosts``: checked again here for
rows saved before that check existed), its name must resolve to public addresses only and
the connection goes to the address checked (``resolver.py``), and a redirect is an answer,
never followed: a push service answers 201 (RFC 8030 §5), and following a 302 or 307 would
let the URL's host send the worker anywhere.
"""

import base64
import binascii
import hashlib
import json
import logging
import os

import aiohttp
import http_ece
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from yarl import URL

from delivery.addresses import networks, refusal
from delivery.providers.base import (
    NO_ANSWER,
    Answer,
    Outcome,
    answer_for_status,
    parse_retry_after,
    result,
)
from delivery.providers.pooled import PooledHttpProvider
from delivery.providers.webpush.resolver import PublicAddressResolver, RefusedAddress
from delivery.providers.webpush.vapid import VapidHeaders, origin_of
from segments.pushhosts import EndpointRefused, check_endpoint

log = logging.getLogger(__name__)

# RFC 8030 §7.2: push services must accept 4096 bytes of (encrypted) body and may refuse more.
MAX_BODY = 4096
URGENCIES = ("very-low", "low", "normal", "high")  # RFC 8030 §5.3
CONNECT_TIMEOUT = 10  # seconds, the seed's connection timeout for every browser
READ_TIMEOUT = 30  # seconds, the seed's longest (Safari) read timeout

BAD_SUBSCRIPTION_KEYS = Answer("token_invalid", Outcome.FAILED)
BAD_ENDPOINT = Answer("end_point_invalid", Outcome.FAILED)
# Refused before any connection. A URL no allow-list could accept (plain http, a user name,
# an address for a host) never came from a browser: its device is retired. A name merely
# off the list, or one that resolves to a private address, keeps its device: that depends
# on our settings and on DNS, which an Admin can correct, and a retired browser only
# comes back when the person subscribes again.
MALFORMED_ENDPOINT = Answer("end_point_invalid", Outcome.FAILED, retire_device=True)
TOO_LARGE = Answer("payload_too_large", Outcome.FAILED)


def topic_for(key):
    """RFC 8030 §5.4: at most 32 characters of the base64url alphabet. A hash of the
    collapse key gives exactly 32 and the same Topic on every resend of the message."""
    digest = hashlib.sha256(str(key).encode()).digest()[:24]
    return base64.urlsafe_b64encode(digest).decode()


def _b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encrypt(push):
    """The aes128gcm body for this subscription (RFC 8291: a fresh ephemeral key pair and
    salt for every message, one record). http_ece does the encryption, as it does inside
    pywebpush's ``WebPusher.encode``; calling it directly skips the per-call copying and
    re-parsing around it, a quarter of the encryption time (bench/send.py)."""
    data = json.dumps(push.payload, separators=(",", ":"), ensure_ascii=False).encode()
    return http_ece.encrypt(
        data,
        salt=os.urandom(16),
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=_b64decode(push.p256dh),
        auth_secret=_b64decode(push.auth),
        version="aes128gcm",
    )


class WebPushProvider(PooledHttpProvider):
    name = "webpush"

    def __init__(
        self,
        private_key,
        subject,
        *,
        concurrency=200,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
    ):
        self.vapid = VapidHeaders(private_key, subject)
        self._allowed_networks = []  # the tests' loopback services (WEBPUSH_ALLOWED_NETWORKS)
        super().__init__(concurrency=concurrency, connect_timeout=connect_timeout, read_timeout=read_timeout)

    @classmethod
    def for_key(cls, key, **options):
        """From a ``delivery.models.VapidKey``."""
        return cls(key.private_key, key.subject, **options)

    def _connector(self):
        self._allowed_networks = networks(getattr(settings, "WEBPUSH_ALLOWED_NETWORKS", ()))
        return aiohttp.TCPConnector(limit=self.concurrency, resolver=PublicAddressResolver(self._allowed_networks))

    def _checked(self, endpoint):
        """(the URL as aiohttp will read it, its VAPID origin), or EndpointRefused."""
        scheme, host, port, address = check_endpoint(endpoint)
        try:
            url = URL(endpoint)
            origin = origin_of(endpoint)
        except (ValueError, TypeError):
            raise EndpointRefused("is not a URL", malformed=True) from None
        # urlsplit (the check) and yarl (the connection) must read the same host and port.
        if (url.scheme, url.host, url.port) != (scheme, host, port):
            raise EndpointRefused("is read differently by two URL parsers", malformed=True)
        # An address literal skips the resolver, so it is checked here (only the tests'
        # networks pass check_endpoint; this keeps the metadata addresses out even there).
        reason = address and refusal(host, self._allowed_networks)
        if reason:
            raise EndpointRefused(f"{host} is {reason}", malformed=True)
        return url, origin

    async def send_one(self, session, push):
        try:
            url, origin = self._checked(push.endpoint)
        except EndpointRefused as refused:
            answer = MALFORMED_ENDPOINT if refused.malformed else BAD_ENDPOINT
            return self._failed(push, answer, f"endpoint refused: {refused}")
        try:
            body = encrypt(push)
        except (http_ece.ECEException, binascii.Error, ValueError, TypeError):
            return self._failed(push, BAD_SUBSCRIPTION_KEYS, "subscription keys are not valid")
        if len(body) > MAX_BODY:
            return self._failed(push, TOO_LARGE, f"{len(body)} bytes encrypted, {MAX_BODY} allowed")

        headers = {
            "Authorization": self.vapid.authorization(origin),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(max(0, int(push.ttl))),
            "Urgency": push.urgency if push.urgency in URGENCIES else "normal",
        }
        topic_key = push.collapse_key or push.message_id
        if topic_key not in (None, ""):
            headers["Topic"] = topic_for(topic_key)

        try:
            async with session.post(url, data=body, headers=headers, allow_redirects=False) as response:
                status = response.status
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                await response.read()  # so the connection goes back to the pool
        except aiohttp.ClientConnectorError as error:
            if isinstance(error.os_error, RefusedAddress):
                return self._failed(push, BAD_ENDPOINT, f"endpoint refused: {error.os_error}")
            log.info("webpush: device %s at %s: no answer (%s)", push.device_id, origin, type(error).__name__)
            return result(push, NO_ANSWER)
        except (aiohttp.ClientError, TimeoutError) as error:
            log.info("webpush: device %s at %s: no answer (%s)", push.device_id, origin, type(error).__name__)
            return result(push, NO_ANSWER)

        answer = answer_for_status(status)
        if answer.outcome != Outcome.SENT:
            log.info("webpush: device %s at %s: HTTP %s -> %s", push.device_id, origin, status, answer.code)
        if answer.outcome != Outcome.RETRY:
            retry_after = None
        return result(push, answer, status=status, retry_after=retry_after)

    def _failed(self, push, answer, why):
        log.info("webpush: device %s not sent: %s -> %s", push.device_id, why, answer.code)
        return result(push, answer)
