"""The aes128gcm body of a web push (RFC 8291 with RFC 8188, one record), from the
subscription's keys and the payload's bytes alone, and the process that makes them for the
send pipeline (``Encrypter``, used by ``transport.Ahead``).

Nothing here reads Django or a model: the encryption process imports this package and
``cryptography``, never the settings."""

import base64
import binascii
import concurrent.futures
import hmac
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# RFC 8291 §3.4 and RFC 8188 §2.2: the constants of the key derivation and the header.
P256 = ec.SECP256R1()
KEY_INFO = b"WebPush: info\x00"
CEK_INFO = b"Content-Encoding: aes128gcm\x00\x01"
NONCE_INFO = b"Content-Encoding: nonce\x00\x01"
RECORD_SIZE = struct.pack("!I", 4096)  # one record: the body is at most 4096 bytes anyway
KEY_ID_LENGTH = b"\x41"  # the sender's public key, 65 bytes uncompressed
LAST_RECORD = b"\x02"  # RFC 8188 §2: the padding delimiter of the last record, no padding

BAD_KEYS = (binascii.Error, ValueError, TypeError)  # what encrypt raises for a subscription's keys


def _b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encrypt(p256dh, auth, data):
    """The aes128gcm body of ``data`` for the subscription with these keys (base64url, as the
    browser gave them): a fresh ephemeral key pair and salt for every message, one record.

    HKDF with SHA-256 and 32 or fewer bytes of output is one HMAC to extract and one to
    expand (RFC 5869 §2), so each step is ``hmac.digest``; http_ece did the same through
    cryptography's HKDF objects, a key serialisation and a record loop per message, about a
    fifth of the encryption's time (bench/README.md, send.py). The local push service
    (tests/pushservices) decrypts these bodies with http_ece."""
    subscriber = _b64decode(p256dh)
    auth_secret = _b64decode(auth)
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
    record = AESGCM(key).encrypt(nonce, data + LAST_RECORD, None)
    return b"".join((salt, RECORD_SIZE, KEY_ID_LENGTH, sender_public, record))


def encrypted(parts):
    """For each (p256dh, auth, data): its body, or the error its subscription's keys raised."""
    bodies = []
    for p256dh, auth, data in parts:
        try:
            bodies.append(encrypt(p256dh, auth, data))
        except BAD_KEYS as error:
            bodies.append(error)
    return bodies


class EncrypterGone(Exception):
    """The encryption process exited (killed, out of memory) before it answered."""


class Encrypter:
    """A child process running ``encrypted``: ``submit(parts)`` returns a
    ``concurrent.futures.Future`` of its bodies. Chunks are answered in the order asked.

    A plain child process over two pipes, not ``multiprocessing``: a Celery pool process is
    daemonic, and multiprocessing refuses children to daemonic processes. The child exits
    when its stdin closes, so it does not outlive the process that started it. Each chunk
    crosses as a length-prefixed pickle (keys and payload bytes in, bodies out), between
    this process and its own child only."""

    def __init__(self):
        root = str(Path(__file__).resolve().parents[3])
        path = os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from delivery.providers.webpush.ece import serve; serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        )
        self.waiting = deque()  # futures in the order their chunks were written
        self.lock = threading.Lock()  # one writer at a time, in the order of ``waiting``
        self.gone = False
        self.reader = threading.Thread(target=self._read, name="webpush-encrypter", daemon=True)
        self.reader.start()

    def submit(self, parts):
        answer = concurrent.futures.Future()
        data = pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL)
        with self.lock:
            if self.gone:
                raise EncrypterGone("the encryption process exited")
            self.waiting.append(answer)  # before the write: the answer may come before it returns
            try:
                self.process.stdin.write(struct.pack("!I", len(data)) + data)
                self.process.stdin.flush()
            except OSError as error:
                raise EncrypterGone(f"the encryption process exited: {error}") from error
        return answer

    def _read(self):
        # Never takes ``lock``: a writer blocked on a full pipe waits for the child, which
        # may be waiting for this thread to read its answers.
        try:
            while (bodies := _read_message(self.process.stdout)) is not None:
                answer = self.waiting.popleft()
                if answer.set_running_or_notify_cancel():
                    answer.set_result(bodies)
        finally:
            self.gone = True
            while self.waiting:
                answer = self.waiting.popleft()
                if answer.set_running_or_notify_cancel():
                    answer.set_exception(EncrypterGone("the encryption process exited"))


def _read_message(stream):
    head = stream.read(4)
    if len(head) < 4:
        return None
    (length,) = struct.unpack("!I", head)
    data = stream.read(length)
    if len(data) < length:
        return None
    return pickle.loads(data)  # noqa: S301 (from our own parent or child, over its pipe)


def serve():
    """The encryption process: a chunk in, its bodies out, until stdin closes. Answers go to
    a copy of stdout; stdout itself is pointed at stderr, so nothing printed by accident
    lands in the middle of an answer."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    while True:
        parts = _read_message(sys.stdin.buffer)
        if parts is None:
            return
        data = pickle.dumps(encrypted(parts), protocol=pickle.HIGHEST_PROTOCOL)
        answers.write(struct.pack("!I", len(data)) + data)
        answers.flush()
