"""Web Push: aes128gcm encryption (RFC 8291) with the cryptography package's primitives,
VAPID (RFC 8292), and the HTTP push protocol (RFC 8030) over kept-alive connections.

The posts go through ``client.py``, a small HTTP/1.1 client that does only what a push
needs: pywebpush's own ``webpush()`` opens a request per call (DESIGN.md measured ~820/s
that way), and aiohttp's pooled ``ClientSession``, which this provider used before, spent
more of the sender's CPU per push than the encryption (bench/README.md, send.py).

The endpoint came from a browser through the public SDK, so before each post it must be a
push service of ``WEBPUSH_ALLOWED_HOSTS`` (``segments.pushhosts``: checked again here for
rows saved before that check existed), its name must resolve to public addresses only and
the connection goes to the address checked (``resolver.py``), and a redirect is an answer,
never followed: a push service answers 201 (RFC 8030 §5), and following a 302 or 307 would
let the URL's host send the worker anywhere.
"""

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import os
import re
import struct
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from yarl import URL

from delivery.addresses import networks, refusal
from delivery.payloads import payload_bytes
from delivery.providers.base import (
    NO_ANSWER,
    Answer,
    Outcome,
    answer_for_status,
    parse_retry_after,
    result,
)
from delivery.providers.pooled import PooledHttpProvider
from delivery.providers.webpush.client import NoAnswer, PushClient, request_start
from delivery.providers.webpush.resolver import PublicAddressResolver, RefusedAddress
from delivery.providers.webpush.vapid import VapidHeaders, origin_of
from delivery.threads import process_thread
from segments.pushhosts import EndpointRefused, check_endpoint

log = logging.getLogger(__name__)

# RFC 8030 §7.2: push services must accept 4096 bytes of (encrypted) body and may refuse more.
MAX_BODY = 4096
URGENCIES = ("very-low", "low", "normal", "high")  # RFC 8030 §5.3
CONNECT_TIMEOUT = 10  # seconds, the seed's connection timeout for every browser
READ_TIMEOUT = 30  # seconds, the seed's longest (Safari) read timeout
HEAD_KEPT = 60  # seconds a push service's common header lines are reused before VAPID is asked again
# A request target sent as the endpoint gives it: a path and query of RFC 3986's unreserved
# characters, sub-delimiters, ":", "@", "/" and "?" — nothing yarl would encode or normalise.
# Percent escapes (yarl upper-cases them and decodes unreserved ones), a fragment, a space,
# and dot segments go through yarl, as every endpoint did before.
PLAIN_TARGET = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*")

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


def _authority(endpoint):
    """(scheme, authority) of a URL (RFC 3986 §3: the authority ends at the first "/", "?"
    or "#"), the key its check is remembered under; None for a URL urlsplit would first
    clean up (spaces, tabs, line breaks), which is checked every time. Whatever the key,
    the connection goes only to the scheme, host and port that were checked (``_checked``)."""
    if endpoint[:1] <= " " or "\t" in endpoint or "\r" in endpoint or "\n" in endpoint:
        return None
    found = AUTHORITY.match(endpoint)
    return found.groups() if found else None


# What ``_authority`` reads: the scheme (up to the first ":"), "//", then the authority up to
# the first "/", "?" or "#" (or the end).
AUTHORITY = re.compile(r"([^:]*)://([^/?#]*)")


def _b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# RFC 8291 §3.4 and RFC 8188 §2.2: the constants of the key derivation and the header.
P256 = ec.SECP256R1()
KEY_INFO = b"WebPush: info\x00"
CEK_INFO = b"Content-Encoding: aes128gcm\x00\x01"
NONCE_INFO = b"Content-Encoding: nonce\x00\x01"
RECORD_SIZE = struct.pack("!I", 4096)  # one record: the body is at most 4096 bytes anyway
KEY_ID_LENGTH = b"\x41"  # the sender's public key, 65 bytes uncompressed
LAST_RECORD = b"\x02"  # RFC 8188 §2: the padding delimiter of the last record, no padding


def encrypt(push):
    """The aes128gcm body for this subscription (RFC 8291 §3.4): a fresh ephemeral key pair
    and salt for every message, one record.

    HKDF with SHA-256 and 32 or fewer bytes of output is one HMAC to extract and one to
    expand (RFC 5869 §2), so each step is ``hmac.digest``; http_ece did the same through
    cryptography's HKDF objects, a key serialisation and a record loop per message, about a
    fifth of the encryption's time (bench/README.md, send.py). The local push service
    (tests/pushservices) decrypts these bodies with http_ece."""
    subscriber = _b64decode(push.p256dh)
    auth_secret = _b64decode(push.auth)
    if len(auth_secret) != 16:  # RFC 8291 §3.2
        raise ValueError("the auth secret must be 16 bytes")
    receiver = ec.EllipticCurvePublicKey.from_encoded_point(P256, subscriber)  # ValueError if not on the curve
    sender = ec.generate_private_key(P256)
    sender_public = sender.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    shared = sender.exchange(ec.ECDH(), receiver)
    ikm = hmac.digest(
        hmac.digest(auth_secret, shared, "sha256"), KEY_INFO + subscriber + sender_public + b"\x01", "sha256"
    )
    salt = os.urandom(16)
    prk = hmac.digest(salt, ikm, "sha256")
    key = hmac.digest(prk, CEK_INFO, "sha256")[:16]
    nonce = hmac.digest(prk, NONCE_INFO, "sha256")[:12]
    data = push.body if push.body is not None else payload_bytes(push.payload)
    record = AESGCM(key).encrypt(nonce, data + LAST_RECORD, None)
    return b"".join((salt, RECORD_SIZE, KEY_ID_LENGTH, sender_public, record))


BAD_KEYS = (binascii.Error, ValueError, TypeError)  # what encrypt raises for a subscription's keys
ENCRYPT_CHUNK = 50  # pushes encrypted in one hand-over to the encryption thread
ENCRYPT_AHEAD = 4  # chunks encrypted ahead of the lanes, at most


def encrypted(pushes):
    """Each push's body, or the error its subscription's keys raised."""
    bodies = []
    for push in pushes:
        try:
            bodies.append(encrypt(push))
        except BAD_KEYS as error:
            bodies.append(error)
    return bodies


class Ahead:
    """The bodies of one ``send_stream`` call's pushes, encrypted on the process's encryption
    thread in chunks of ``chunk``, at most ``ahead`` chunks ahead of the lanes.

    It was meant to run the P-256 key generation and ECDH, most of ``encrypt``, beside the
    event loop; cryptography 50.0.2 holds the GIL through them (bench/README.md, send.py,
    fourth pass), so the two take turns. A process of its own was tried and bought nothing
    measurable: the batch's serial steps, not the GIL, limit one sender. The lanes take the
    pushes in order: when one takes the first push of a chunk, every push before it has been
    taken, so the chunk before is let go and the next one is asked for. Memory stays at a few
    chunks whatever the batch."""

    def __init__(self, pushes, *, chunk=ENCRYPT_CHUNK, ahead=ENCRYPT_AHEAD):
        self.pushes, self.chunk = pushes, chunk
        self.loop = asyncio.get_running_loop()
        self.chunks = {}  # chunk number -> the future of its bodies
        self.asked = 0  # chunks asked for so far
        for _ in range(ahead):
            self._ask()

    def _ask(self):
        start = self.asked * self.chunk
        if start < len(self.pushes):
            part = self.pushes[start : start + self.chunk]
            self.chunks[self.asked] = self.loop.run_in_executor(_encrypter(), encrypted, part)
            self.asked += 1

    async def body(self, index):
        number, offset = divmod(index, self.chunk)
        if offset == 0:
            self.chunks.pop(number - 1, None)
            self._ask()
        return (await self.chunks[number])[offset]

    def stop(self):
        """Chunks not started are dropped; one being encrypted finishes unused."""
        for waiting in self.chunks.values():
            waiting.cancel()
        self.chunks.clear()


def _encrypter():
    return process_thread("webpush-encrypt")


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
        self._origins = {}  # (scheme, authority) -> what _check_origin found, for this pool
        self._common = {}  # (origin, TTL, Urgency) -> (the header lines of every such push, made until)
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        super().__init__(concurrency=concurrency, connect_timeout=connect_timeout, read_timeout=read_timeout)

    @classmethod
    def for_key(cls, key, **options):
        """From a ``delivery.models.VapidKey``."""
        return cls(key.private_key, key.subject, **options)

    def _new_session(self):
        # A new pool reads the settings again (tests change them between sends).
        self._allowed_networks = networks(getattr(settings, "WEBPUSH_ALLOWED_NETWORKS", ()))
        self._origins.clear()
        self._common.clear()
        return PushClient(
            resolver=PublicAddressResolver(self._allowed_networks),
            limit=self.concurrency,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
        )

    def _checked(self, endpoint):
        """((scheme, host, port) to connect to, the request line and Host header, the VAPID
        origin), or EndpointRefused.

        What is checked depends only on the URL's scheme and authority (``check_endpoint``,
        the address check, ``origin_of``), so each push service's is checked once per
        connection pool and remembered (``_origins``), with yarl's reading of its host and
        port. Per push only the path and query follow: taken as they are when every character
        is one a request target may carry (``PLAIN_TARGET``: what yarl would send unchanged),
        else read by yarl as before."""
        key = _authority(endpoint)
        found = self._origins.get(key) if key else None
        if found is None:
            found = self._check_origin(endpoint)
            if key and not isinstance(found, EndpointRefused):
                try:
                    found = (*found, self._connect_to(endpoint, found[0]))
                except EndpointRefused as refused:
                    found = refused
            if key:
                self._origins[key] = found
        if isinstance(found, EndpointRefused):
            raise EndpointRefused(str(found), malformed=found.malformed)  # a new one: tracebacks grow
        if key:
            expected, origin, (connect, host_header) = found
            target = endpoint[len(key[0]) + 3 + len(key[1]) :]
            if PLAIN_TARGET.fullmatch(target) and "/." not in target:
                return connect, request_start(target, host_header), origin
        else:
            expected, origin = found
        url = self._url(endpoint, expected)
        return (url.scheme, url.raw_host, url.port), request_start(url.raw_path_qs, url.host_port_subcomponent), origin

    def _connect_to(self, endpoint, expected):
        """(scheme, host, port) connected to and the Host header, as yarl reads ``endpoint``."""
        url = self._url(endpoint, expected)
        return (url.scheme, url.raw_host, url.port), url.host_port_subcomponent

    @staticmethod
    def _url(endpoint, expected):
        try:
            url = URL(endpoint)
        except (ValueError, TypeError):
            raise EndpointRefused("is not a URL", malformed=True) from None
        # urlsplit (the check) and yarl (the connection) must read the same host and port.
        if (url.scheme, url.host, url.port) != expected:
            raise EndpointRefused("is read differently by two URL parsers", malformed=True)
        return url

    def _check_origin(self, endpoint):
        """((scheme, host, port) as checked, the VAPID origin), or the EndpointRefused to raise."""
        try:
            scheme, host, port, address = check_endpoint(endpoint)
            origin = origin_of(endpoint)
        except EndpointRefused as refused:
            return refused
        except (ValueError, TypeError):
            return EndpointRefused("is not a URL", malformed=True)
        # An address literal skips the resolver, so it is checked here (only the tests'
        # networks pass check_endpoint; this keeps the metadata addresses out even there).
        reason = address and refusal(host, self._allowed_networks)
        if reason:
            return EndpointRefused(f"{host} is {reason}", malformed=True)
        return (scheme, host, port), origin

    def _head(self, origin, push):
        """The request's header lines after the Host: those every push to ``origin`` with this
        TTL and Urgency carries are made once per pool and kept for ``HEAD_KEPT`` seconds (the
        VAPID header is renewed when close to its expiry), the Topic per push. Every value is
        ours (a signed token, digits, a listed urgency, base64url)."""
        urgency = push.urgency if push.urgency in URGENCIES else "normal"
        ttl = max(0, int(push.ttl))
        now = time.time()
        common = self._common.get((origin, ttl, urgency))
        if common is None or common[1] < now:
            lines = (
                f"Authorization: {self.vapid.authorization(origin)}\r\nContent-Encoding: aes128gcm\r\n"
                f"Content-Type: application/octet-stream\r\nTTL: {ttl}\r\nUrgency: {urgency}\r\n"
            )
            common = self._common[origin, ttl, urgency] = (lines.encode("ascii"), now + HEAD_KEPT)
        topic_key = push.collapse_key or push.message_id
        if topic_key in (None, ""):
            return common[0]
        return b"%sTopic: %s\r\n" % (common[0], topic_for(topic_key).encode("ascii"))

    @contextlib.asynccontextmanager
    async def _sender(self, session, pushes):
        ahead = Ahead(pushes)

        async def send(index, push):
            return await self.send_one(session, push, await ahead.body(index))

        try:
            yield send
        finally:
            ahead.stop()

    async def send_one(self, session, push, body=None):
        """``body``: the push already encrypted (or the error its keys raised), else it is
        encrypted here."""
        try:
            connect, start, origin = self._checked(push.endpoint)
        except EndpointRefused as refused:
            answer = MALFORMED_ENDPOINT if refused.malformed else BAD_ENDPOINT
            return self._failed(push, answer, f"endpoint refused: {refused}")
        if body is None:
            [body] = encrypted([push])
        if isinstance(body, BAD_KEYS):
            return self._failed(push, BAD_SUBSCRIPTION_KEYS, "subscription keys are not valid")
        if len(body) > MAX_BODY:
            return self._failed(push, TOO_LARGE, f"{len(body)} bytes encrypted, {MAX_BODY} allowed")
        try:
            request = b"".join((start, self._head(origin, push), b"Content-Length: %d\r\n\r\n" % len(body), body))
            answered = await session.send(connect, request)
        except RefusedAddress as refused:
            return self._failed(push, BAD_ENDPOINT, f"endpoint refused: {refused}")
        except NoAnswer as error:
            log.info("webpush: device %s at %s: no answer (%s)", push.device_id, origin, error)
            return result(push, NO_ANSWER)

        status = answered.status
        answer = answer_for_status(status)
        if answer.outcome != Outcome.SENT:
            log.info("webpush: device %s at %s: HTTP %s -> %s", push.device_id, origin, status, answer.code)
        retry_after = None
        if answer.outcome == Outcome.RETRY:
            retry_after = parse_retry_after(answered.headers.get("retry-after"))
        return result(push, answer, status=status, retry_after=retry_after)

    def _failed(self, push, answer, why):
        log.info("webpush: device %s not sent: %s -> %s", push.device_id, why, answer.code)
        return result(push, answer)
