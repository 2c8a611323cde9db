"""A Web Push service on 127.0.0.1 that checks what a real one checks.

For each ``POST /push/<id>`` it verifies the VAPID JWT (RFC 8292: ES256 signature against
the ``k=`` key, ``aud`` equal to its own origin, ``exp`` in the future and at most 24 h
ahead), requires TTL (RFC 8030 §5.2) and valid Urgency and Topic (§5.3, §5.4), refuses bodies
over 4096 bytes (§7.2), decrypts the aes128gcm body (RFC 8291) with the subscriber's private
key, keeps what it got, and answers 201. Tests can make it answer errors (429 or 503 with a
Retry-After, 4xx) or be slow, on demand per subscriber, and read when each answer was given.

    with WebPushService() as service:
        subscriber = service.subscribe()
        ... send to subscriber.endpoint with subscriber.p256dh and subscriber.auth ...
        service.received[subscriber.id][0].payload
"""

import asyncio
import base64
import functools
import itertools
import json
import os
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.pushservices.server import ThreadedService

MAX_BODY = 4096
MAX_EXP_AHEAD = 24 * 3600
URGENCIES = {"very-low", "low", "normal", "high"}
BASE64URL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Rejected(Exception):
    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Subscriber:
    """A browser's side of a subscription: the private key only this end knows."""

    id: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    application_server_key: str | None = None

    @property
    def p256dh(self):
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    @property
    def auth(self):
        return b64url(self.auth_secret)


@dataclass
class Received:
    headers: dict
    claims: dict
    authorization: str
    payload: dict
    at: float = field(default_factory=time.time)


def verify_vapid(authorization, origin, now):
    """RFC 8292 §3: ``vapid t=<JWT>, k=<public key>``. Returns (claims, k)."""
    claims, key = verify_signature(authorization)
    claims = dict(claims)  # the cached dict stays untouched
    if claims.get("aud") != origin:
        raise Rejected(401, f"aud {claims.get('aud')!r} is not {origin!r}")
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= now:
        raise Rejected(401, "expired")
    if exp > now + MAX_EXP_AHEAD:
        raise Rejected(401, "exp more than 24 h ahead")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        raise Rejected(401, "sub is not a mailto: or https: contact")
    return claims, key


@functools.lru_cache(maxsize=64)
def verify_signature(authorization):
    """The ES256 check, remembered per header as a push service would: senders reuse one
    header for hours. The time-dependent claims are checked on every request above."""
    scheme, _, params = (authorization or "").partition(" ")
    if scheme.lower() != "vapid":
        raise Rejected(401, "no vapid Authorization")
    parts = dict(item.strip().split("=", 1) for item in params.split(",") if "=" in item)
    token, key = parts.get("t", ""), parts.get("k", "")
    try:
        header_b64, claims_b64, signature_b64 = token.split(".")
        header = json.loads(b64url_decode(header_b64))
        claims = json.loads(b64url_decode(claims_b64))
        signature = b64url_decode(signature_b64)
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
    except ValueError as error:
        raise Rejected(401, f"malformed token: {error}") from error
    if header.get("alg") != "ES256" or len(signature) != 64:
        raise Rejected(401, "not an ES256 JWT")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        public_key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as error:
        raise Rejected(401, "bad signature") from error
    return claims, key


class WebPushService(ThreadedService):
    name = "local Web Push service"

    def __init__(self):
        self.subscribers = {}
        self.received = defaultdict(list)  # subscriber id -> [Received]
        self.rejected = []  # (subscriber id, status, reason)
        self.answered = defaultdict(list)  # subscriber id -> [(status, time.time())] of scripted answers
        self.requests = 0
        self.waiting = 0  # requests being held by ``slow`` right now
        self._scripted = defaultdict(list)  # subscriber id -> [(status, headers)] answered first
        self._delay = {}
        self._ids = itertools.count(1)
        self._loop = None
        self._runner = None
        self.origin = None

    # -- what tests call -------------------------------------------------------------

    def subscribe(self, application_server_key=None):
        """A new subscription. With ``application_server_key`` it is restricted to that VAPID
        key and pushes signed with another are refused with 403 (RFC 8292 §4.2)."""
        sub_id = f"s{next(self._ids)}-{uuid.uuid4().hex[:8]}"
        subscriber = Subscriber(
            id=sub_id,
            endpoint=f"{self.origin}/push/{sub_id}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth_secret=os.urandom(16),
            application_server_key=application_server_key,
        )
        self.subscribers[sub_id] = subscriber
        return subscriber

    def answer(self, subscriber, *statuses, retry_after=None):
        """Answer the next pushes to ``subscriber`` with these statuses, then 201 again."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self._scripted[subscriber.id].extend((status, headers) for status in statuses)

    def slow(self, subscriber, seconds):
        """Wait this long before answering pushes to ``subscriber``."""
        self._delay[subscriber.id] = seconds

    def payloads(self, subscriber):
        return [item.payload for item in self.received[subscriber.id]]

    # -- the service -----------------------------------------------------------------

    async def _push(self, request):
        self.requests += 1
        sub_id = request.match_info["id"]
        if self._delay.get(sub_id):
            self.waiting += 1
            try:
                await asyncio.sleep(self._delay[sub_id])
            finally:
                self.waiting -= 1
        subscriber = self.subscribers.get(sub_id)
        if subscriber is None:
            return web.Response(status=404)
        if self._scripted[sub_id]:
            status, headers = self._scripted[sub_id].pop(0)
            self.answered[sub_id].append((status, time.time()))
            return web.Response(status=status, headers=headers)
        body = await request.read()
        try:
            received = self._check(request, subscriber, body)
        except Rejected as rejection:
            self.rejected.append((sub_id, rejection.status, rejection.reason))
            return web.Response(status=rejection.status, text=rejection.reason)
        self.received[sub_id].append(received)
        return web.Response(status=201, headers={"Location": f"{self.origin}/message/{uuid.uuid4().hex}"})

    def _check(self, request, subscriber, body):
        claims, key = verify_vapid(request.headers.get("Authorization"), self.origin, time.time())
        if subscriber.application_server_key and key != subscriber.application_server_key:
            raise Rejected(403, "signed with another key than the subscription's")
        if not request.headers.get("TTL", "").isdigit():
            raise Rejected(400, "TTL header missing or not a number")
        if request.headers.get("Urgency", "normal") not in URGENCIES:
            raise Rejected(400, "bad Urgency")
        topic = request.headers.get("Topic")
        if topic is not None and (len(topic) > 32 or not set(topic) <= BASE64URL):
            raise Rejected(400, "Topic longer than 32 or outside base64url")
        if request.headers.get("Content-Encoding") != "aes128gcm":
            raise Rejected(400, "Content-Encoding is not aes128gcm")
        if len(body) > MAX_BODY:
            raise Rejected(413, f"{len(body)} bytes")
        try:
            plain = http_ece.decrypt(
                body, private_key=subscriber.private_key, auth_secret=subscriber.auth_secret, version="aes128gcm"
            )
            payload = json.loads(plain)
        except Exception as error:  # any failure to decrypt is the sender's fault
            raise Rejected(400, f"cannot decrypt: {type(error).__name__}") from error
        return Received(
            headers=dict(request.headers),
            claims=claims,
            authorization=request.headers["Authorization"],
            payload=payload,
        )

    # -- running it in a thread ------------------------------------------------------

    def routes(self, app):
        app.router.add_post("/push/{id}", self._push)


def make_vapid_key():
    """An application server key pair as ``delivery.models.VapidKey`` stores it: (private, public),
    base64url raw scalar and uncompressed point."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64url(private), b64url(public)
