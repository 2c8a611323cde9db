"""A Web Push service for load (``bench/send.py``): separate processes on 127.0.0.1 sharing one
port (SO_REUSEPORT), so the push service is not what limits a send benchmark.

Per push it checks what ``WebPushService`` checks — the VAPID JWT (RFC 8292: ES256 signature
checked once per header, as push services cache it; ``aud``, ``exp`` and ``sub`` on every
push), TTL, Urgency, Topic, Content-Encoding and the 4096-byte limit — and it decrypts every
``--sample``-th body (RFC 8291) with the subscriber's private key and checks it is JSON.
Decrypting every push would cost the service more CPU than the sender spends encrypting.
A subscriber's keys follow from its id (``subscription(origin, id)``), so the bench and the
service agree on them without sharing a file.

    python -m tests.pushservices.loopback --port 8089 --processes 2 --sample 50
"""

import argparse
import asyncio
import collections
import hashlib
import json
import multiprocessing
import os
import signal
import socket
import time
from pathlib import Path

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

try:
    import uvloop
except ImportError:  # asyncio's loop does the same, slower
    uvloop = None

from tests.pushservices.webpush import BASE64URL, MAX_BODY, URGENCIES, Rejected, b64url, verify_vapid

# The order of the P-256 group (SEC 2 §2.4.2): private scalars are 1 … ORDER - 1.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def subscriber_keys(sub_id):
    """(private key, auth secret) of subscriber ``sub_id``, the same in every process."""
    seed = hashlib.sha256(f"loopback-subscriber:{sub_id}".encode()).digest()
    private_key = ec.derive_private_key(int.from_bytes(seed, "big") % (P256_ORDER - 1) + 1, ec.SECP256R1())
    auth_secret = hashlib.sha256(f"loopback-auth:{sub_id}".encode()).digest()[:16]
    return private_key, auth_secret


def subscription(origin, sub_id):
    """(endpoint, p256dh, auth) a browser subscribed at this service would hand over."""
    private_key, auth_secret = subscriber_keys(sub_id)
    point = private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return f"{origin}/push/{sub_id}", b64url(point), b64url(auth_secret)


class Loopback:
    def __init__(self, origin, sample):
        self.origin = origin
        self.sample = sample
        self.count = 0
        self.pushes = collections.Counter()  # subscriber id -> pushes accepted

    def push(self, sub_id, headers, body):
        """(status, reason) of one ``POST /push/<sub_id>``; ``headers``: lower-case names."""
        self.count += 1
        try:
            self.check(headers, body)
            if self.sample and self.count % self.sample == 0:
                self.decrypt(sub_id, body)
        except Rejected as rejection:
            return rejection.status, rejection.reason
        self.pushes[sub_id] += 1
        return 201, ""

    def check(self, headers, body):
        verify_vapid(headers.get("authorization"), self.origin, time.time())
        if not headers.get("ttl", "").isdigit():
            raise Rejected(400, "TTL header missing or not a number")
        if headers.get("urgency", "normal") not in URGENCIES:
            raise Rejected(400, "bad Urgency")
        topic = headers.get("topic")
        if topic is not None and (len(topic) > 32 or not set(topic) <= BASE64URL):
            raise Rejected(400, "Topic longer than 32 or outside base64url")
        if headers.get("content-encoding") != "aes128gcm":
            raise Rejected(400, "Content-Encoding is not aes128gcm")
        if len(body) > MAX_BODY:
            raise Rejected(413, f"{len(body)} bytes")

    def decrypt(self, sub_id, body):
        private_key, auth_secret = subscriber_keys(sub_id)
        try:
            json.loads(http_ece.decrypt(body, private_key=private_key, auth_secret=auth_secret, version="aes128gcm"))
        except Exception as error:  # any failure to decrypt is the sender's fault
            raise Rejected(400, f"cannot decrypt: {type(error).__name__}") from error


MAX_REQUEST_HEAD = 16 * 1024
MAX_REQUEST_BODY = 64 * 1024  # more than MAX_BODY: a body over 4096 is read and answered 413


class PushProtocol(asyncio.Protocol):
    """HTTP/1.1 for this service alone: ``POST /push/<id>`` with a Content-Length, kept alive,
    requests answered in order. aiohttp's server, which this replaced, spent more CPU per
    push than the sender (bench/README.md, send.py), on the same two cores; what is checked
    per push is the same (``Loopback.check``)."""

    def __init__(self, service):
        self.service = service
        self.buffer = bytearray()
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        answers = []
        while True:
            answer = self._next()
            if answer is None:
                break
            answers.append(answer)
            if answer.endswith(b"Connection: close\r\n\r\n"):
                break
        if answers:
            self.transport.write(b"".join(answers))
            if answers[-1].endswith(b"Connection: close\r\n\r\n"):
                self.transport.close()

    def _next(self):
        """The answer to the next complete request in the buffer, or None."""
        buffer = self.buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return _answer(400, "request head too long", close=True) if len(buffer) > MAX_REQUEST_HEAD else None
        lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
        method, _, rest = lines[0].partition(" ")
        target, _, version = rest.partition(" ")
        headers = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                return _answer(400, "malformed header line", close=True)
            headers[name.strip().lower()] = value.strip()
        length = headers.get("content-length", "0")
        if not length.isdigit() or int(length) > MAX_REQUEST_BODY or "transfer-encoding" in headers:
            return _answer(400, "a Content-Length is required", close=True)
        if len(buffer) < end + 4 + int(length):
            return None
        body = bytes(buffer[end + 4 : end + 4 + int(length)])
        del buffer[: end + 4 + int(length)]
        close = version != "HTTP/1.1" or headers.get("connection", "").lower() == "close"
        if method != "POST" or not target.startswith("/push/") or not target[6:] or "/" in target[6:] or "?" in target:
            return _answer(404, "Not Found", close=close)
        status, reason = self.service.push(target[6:], headers, body)
        return _answer(status, reason, close=close)


REASONS = {201: "Created", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 413: "Payload Too Large"}


def _answer(status, text, *, close=False):
    body = text.encode()
    connection = b"Connection: close\r\n" if close else b""
    head = f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + (body and b"Content-Type: text/plain; charset=utf-8\r\n") + connection + b"\r\n" + body


def serve(sock, origin, sample, counts=None):
    """``counts``: a folder where the process writes, when stopped, how many pushes it
    accepted per subscriber (``<pid>.json``), so a bench can check none was sent twice."""
    service = Loopback(origin, sample)

    async def run():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: PushProtocol(service), sock=sock)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        # A second SIGTERM (the parent forwards the one its group also got) must not cut
        # the counts short.
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        server.close()

    if uvloop is not None:
        uvloop.run(run())
    else:
        asyncio.run(run())
    if counts:
        (Path(counts) / f"{os.getpid()}.json").write_text(json.dumps(service.pushes))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--sample", type=int, default=50, help="decrypt every Nth push (0: none)")
    parser.add_argument("--counts", help="a folder for each process's pushes per subscriber, written on exit")
    args = parser.parse_args()
    origin = f"http://127.0.0.1:{args.port}"
    children = []
    for _ in range(args.processes):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", args.port))
        sock.listen(1024)
        child = multiprocessing.Process(target=serve, args=(sock, origin, args.sample, args.counts))
        child.start()
        children.append(child)
    signal.signal(signal.SIGTERM, lambda *_: [os.kill(child.pid, signal.SIGTERM) for child in children])
    for child in children:
        child.join()


if __name__ == "__main__":
    main()
