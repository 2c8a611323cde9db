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
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

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

    async def push(self, request):
        self.count += 1
        body = await request.read()
        try:
            self.check(request, body)
            if self.sample and self.count % self.sample == 0:
                self.decrypt(request.match_info["id"], body)
        except Rejected as rejection:
            return web.Response(status=rejection.status, text=rejection.reason)
        self.pushes[request.match_info["id"]] += 1
        return web.Response(status=201)

    def check(self, request, body):
        verify_vapid(request.headers.get("Authorization"), self.origin, time.time())
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

    def decrypt(self, sub_id, body):
        private_key, auth_secret = subscriber_keys(sub_id)
        try:
            json.loads(http_ece.decrypt(body, private_key=private_key, auth_secret=auth_secret, version="aes128gcm"))
        except Exception as error:  # any failure to decrypt is the sender's fault
            raise Rejected(400, f"cannot decrypt: {type(error).__name__}") from error


def serve(sock, origin, sample, counts=None):
    """``counts``: a folder where the process writes, when stopped, how many pushes it
    accepted per subscriber (``<pid>.json``), so a bench can check none was sent twice."""
    service = Loopback(origin, sample)

    async def run():
        app = web.Application()
        app.router.add_post("/push/{id}", service.push)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        # A second SIGTERM (the parent forwards the one its group also got) must not cut
        # the counts short.
        asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        await runner.cleanup()

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
