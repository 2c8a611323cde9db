"""An APNs service on 127.0.0.1 that checks what Apple checks, over HTTP/2 and TLS.

It speaks HTTP/2 (``h2``) over TLS with ALPN "h2" and a self-signed certificate made at start
(``service.cafile`` is what a client must trust). For each ``POST /3/device/<token>`` it checks
the ``authorization: bearer <JWT>`` (ES256 signature against the registered key, ``kid``, ``iss``,
``iat`` no older than an hour, and no new token within 20 minutes of the last:
TooManyProviderTokenUpdates), the ``apns-*`` headers, and a non-empty JSON body; keeps what it
got and answers 200 with the ``apns-id``. Errors come back as Apple sends them: a status and
``{"reason": …}`` (with ``timestamp`` for 410). Tests can script errors per device token or
make a token slow. Apple's reference:
https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns

    with APNsService(team_id="TEAM123456") as service:
        signing_key, key_id = service.new_key()
        ... send to f"/3/device/{token}" on service.host, service.port, trusting service.cafile ...
        service.received[token][0].payload
"""

import asyncio
import datetime
import ipaddress
import itertools
import json
import os
import ssl
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import ConnectionTerminated, DataReceived, RequestReceived, StreamEnded, StreamReset
from h2.exceptions import ProtocolError

TOKEN_MAX_AGE = 3600  # Apple: tokens older than an hour are refused
TOKEN_MIN_INTERVAL = 20 * 60  # Apple: refresh no more than once every 20 minutes
PUSH_TYPES = {"alert", "background", "voip", "complication", "fileprovider", "mdm", "liveactivity", "location"}
MAX_PAYLOAD = 4096

STATUS_OF = {
    "BadDeviceToken": 400,
    "BadCollapseId": 400,
    "BadExpirationDate": 400,
    "BadPriority": 400,
    "BadTopic": 400,
    "InvalidPushType": 400,
    "MissingTopic": 400,
    "PayloadEmpty": 400,
    "TopicDisallowed": 400,
    "BadPath": 404,
    "ExpiredProviderToken": 403,
    "InvalidProviderToken": 403,
    "MissingProviderToken": 403,
    "Unregistered": 410,
    "PayloadTooLarge": 413,
    "TooManyProviderTokenUpdates": 429,
    "TooManyRequests": 429,
    "InternalServerError": 500,
    "ServiceUnavailable": 503,
}


class Rejected(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Received:
    token: str
    headers: dict
    payload: dict
    jwt: str
    claims: dict
    at: float = field(default_factory=time.time)


def make_signing_key():
    """A .p8 key as Apple hands it out: PKCS#8 PEM of an EC P-256 private key."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_key_of(signing_key):
    return serialization.load_pem_private_key(signing_key.encode(), password=None).public_key()


def self_signed_certificate():
    """(certificate PEM, key PEM) for localhost and 127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


class APNsService:
    def __init__(self, team_id="TEAM123456", topic="com.clarion.app"):
        self.team_id = team_id
        self.topic = topic
        self.keys = {}  # key id -> public key
        self.received = defaultdict(list)  # device token -> [Received]
        self.rejected = []  # (device token, status, reason)
        self.requests = 0
        self.connections = 0
        self._last_iat = {}  # key id -> iat of the newest token seen
        self._scripted = defaultdict(list)  # device token -> [reason] answered first
        self._delay = {}
        self._ids = itertools.count(1)
        self.host = "127.0.0.1"
        self.port = None
        self.cafile = None

    # -- what tests call -------------------------------------------------------------

    def new_key(self):
        """A signing key this service trusts: (.p8 PEM, key id)."""
        signing_key = make_signing_key()
        key_id = uuid.uuid4().hex[:10].upper()  # Apple key ids are 10 characters
        self.keys[key_id] = public_key_of(signing_key)
        return signing_key, key_id

    def answer(self, token, *reasons):
        """Answer the next pushes to ``token`` with these reasons (e.g. "Unregistered"), then 200."""
        self._scripted[token].extend(reasons)

    def slow(self, token, seconds):
        self._delay[token] = seconds

    def payloads(self, token):
        return [item.payload for item in self.received[token]]

    def ssl_context(self):
        """A client context trusting only this service, offering h2 by ALPN."""
        context = ssl.create_default_context(cafile=self.cafile)
        context.set_alpn_protocols(["h2"])
        return context

    # -- one request -----------------------------------------------------------------

    async def handle(self, headers, body):
        """(status, response headers, body bytes) for one complete request."""
        self.requests += 1
        path = headers.get(":path", "")
        token = path.removeprefix("/3/device/") if path.startswith("/3/device/") else None
        if token in self._delay:
            await asyncio.sleep(self._delay[token])
        apns_id = headers.get("apns-id") or str(uuid.uuid4()).upper()
        try:
            if headers.get(":method") != "POST":
                raise Rejected("MethodNotAllowed")
            if not token:
                raise Rejected("BadPath")
            if self._scripted[token]:
                raise Rejected(self._scripted[token].pop(0))
            received = self._check(token, headers, body)
        except Rejected as rejection:
            status = 405 if rejection.reason == "MethodNotAllowed" else STATUS_OF.get(rejection.reason, 400)
            self.rejected.append((token, status, rejection.reason))
            answer = {"reason": rejection.reason}
            if status == 410:
                answer["timestamp"] = int(time.time() * 1000)
            return status, {"apns-id": apns_id}, json.dumps(answer).encode()
        self.received[token].append(received)
        return 200, {"apns-id": apns_id}, b""

    def _check(self, token, headers, body):
        claims, bearer = self._check_token(headers.get("authorization", ""))
        if not all(c in "0123456789abcdefABCDEF" for c in token):
            raise Rejected("BadDeviceToken")
        if not headers.get("apns-topic"):
            raise Rejected("MissingTopic")
        if headers["apns-topic"] != self.topic:
            raise Rejected("DeviceTokenNotForTopic")
        push_type = headers.get("apns-push-type", "alert")
        if push_type not in PUSH_TYPES:
            raise Rejected("InvalidPushType")
        priority = headers.get("apns-priority", "10")
        if priority not in {"10", "5", "1"} or (push_type == "background" and priority != "5"):
            raise Rejected("BadPriority")
        if not headers.get("apns-expiration", "0").isdigit():
            raise Rejected("BadExpirationDate")
        if len(headers.get("apns-collapse-id", "").encode()) > 64:
            raise Rejected("BadCollapseId")
        if not body:
            raise Rejected("PayloadEmpty")
        if len(body) > MAX_PAYLOAD:
            raise Rejected("PayloadTooLarge")
        try:
            payload = json.loads(body)
        except ValueError as error:
            raise Rejected("BadPayload") from error
        if not isinstance(payload, dict) or not isinstance(payload.get("aps"), dict):
            raise Rejected("BadPayload")
        return Received(token=token, headers=headers, payload=payload, jwt=bearer, claims=claims)

    def _check_token(self, authorization):
        scheme, _, bearer = authorization.partition(" ")
        if scheme.lower() != "bearer" or not bearer:
            raise Rejected("MissingProviderToken")
        try:
            header = jwt.get_unverified_header(bearer)
        except jwt.InvalidTokenError as error:
            raise Rejected("InvalidProviderToken") from error
        key_id = header.get("kid")
        if header.get("alg") != "ES256" or key_id not in self.keys:
            raise Rejected("InvalidProviderToken")
        try:
            claims = jwt.decode(
                bearer,
                self.keys[key_id],
                algorithms=["ES256"],
                options={"require": ["iss", "iat"], "verify_iat": False},
            )
        except jwt.InvalidTokenError as error:
            raise Rejected("InvalidProviderToken") from error
        if claims["iss"] != self.team_id or not isinstance(claims["iat"], int):
            raise Rejected("InvalidProviderToken")
        now = time.time()
        if claims["iat"] > now + 60:
            raise Rejected("InvalidProviderToken")
        if now - claims["iat"] > TOKEN_MAX_AGE:
            raise Rejected("ExpiredProviderToken")
        last = self._last_iat.get(key_id)
        if last is not None and last < claims["iat"] < last + TOKEN_MIN_INTERVAL:
            raise Rejected("TooManyProviderTokenUpdates")
        if last is None or claims["iat"] > last:
            self._last_iat[key_id] = claims["iat"]
        return claims, bearer

    # -- HTTP/2 over TLS in a thread ---------------------------------------------------

    def start(self):
        self._dir = tempfile.TemporaryDirectory(prefix="apns-service-")
        certificate, key = self_signed_certificate()
        self.cafile = os.path.join(self._dir.name, "cert.pem")
        key_file = os.path.join(self._dir.name, "key.pem")
        with open(self.cafile, "wb") as out:
            out.write(certificate)
        with open(key_file, "wb") as out:
            out.write(key)
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_context.load_cert_chain(self.cafile, key_file)
        server_context.set_alpn_protocols(["h2"])

        started = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def serve():
            self._server = await self._loop.create_server(
                lambda: H2ServerProtocol(self), "127.0.0.1", 0, ssl=server_context
            )
            self.port = self._server.sockets[0].getsockname()[1]
            started.set()

        def run():
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="apns-service", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the local APNs service did not start")
        return self

    def stop(self):
        async def shutdown():
            self._server.close()
            protocols = H2ServerProtocol.open_for(self)
            for protocol in list(protocols):
                for task in protocol.answering:
                    task.cancel()  # slow answers nobody waits for any more
                protocol.transport.close()
            for _ in range(200):
                if not protocols:
                    break
                await asyncio.sleep(0.01)
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._dir.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class H2ServerProtocol(asyncio.Protocol):
    _open = defaultdict(set)

    @classmethod
    def open_for(cls, service):
        return cls._open[id(service)]

    def __init__(self, service):
        self.service = service
        self.conn = H2Connection(config=H2Configuration(client_side=False, header_encoding="utf-8"))
        self.streams = {}  # stream id -> (headers, bytearray)
        self.answering = set()
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        if transport.get_extra_info("ssl_object").selected_alpn_protocol() != "h2":
            transport.close()  # APNs speaks only HTTP/2
            return
        self.service.connections += 1
        self.open_for(self.service).add(self)
        self.conn.initiate_connection()
        self.conn.update_settings({1: 4096, 3: 100})  # header table size, max concurrent streams
        self.transport.write(self.conn.data_to_send())

    def connection_lost(self, exc):
        self.open_for(self.service).discard(self)

    def data_received(self, data):
        try:
            events = self.conn.receive_data(data)
        except ProtocolError:
            self.transport.write(self.conn.data_to_send())
            self.transport.close()
            return
        for event in events:
            if isinstance(event, RequestReceived):
                self.streams[event.stream_id] = (dict(event.headers), bytearray())
            elif isinstance(event, DataReceived):
                if event.stream_id in self.streams:
                    self.streams[event.stream_id][1].extend(event.data)
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, StreamEnded):
                headers, body = self.streams.pop(event.stream_id)
                task = asyncio.ensure_future(self.respond(event.stream_id, headers, bytes(body)))
                self.answering.add(task)  # a task nobody holds may be collected mid-answer
                task.add_done_callback(self.answering.discard)
            elif isinstance(event, StreamReset):
                self.streams.pop(event.stream_id, None)
            elif isinstance(event, ConnectionTerminated):
                self.transport.close()
        self.transport.write(self.conn.data_to_send())

    async def respond(self, stream_id, headers, body):
        status, response_headers, answer = await self.service.handle(headers, body)
        if self.transport.is_closing():
            return
        try:
            self.conn.send_headers(
                stream_id,
                [(":status", str(status)), *response_headers.items()],
                end_stream=not answer,
            )
            if answer:
                self.conn.send_data(stream_id, answer, end_stream=True)
        except ProtocolError:
            return  # the client reset the stream while we were slow
        self.transport.write(self.conn.data_to_send())
