"""Linked Content: JSON a marketer fetches from an https URL at send time, for Liquid
(001_7e98aec7573e4386.txt, "Linked Content").

The URL is the marketer's, the request is ours: without care it is a way into our own
network (SSRF). So a fetch

- is https only; plain http only when ``settings.LINKED_CONTENT_ALLOW_HTTP`` is set;
- resolves the host, refuses it unless EVERY address is public (``delivery/addresses.py``:
  not private, loopback, link-local, multicast, reserved, unspecified, shared or a cloud
  metadata address), and
  then connects to one of those checked addresses itself, keeping the host name for the
  Host header, TLS SNI and the certificate check: a DNS answer that changes between our
  check and the connection (rebinding) cannot send us elsewhere;
- follows at most ``MAX_REDIRECTS`` redirects, each hop checked as above;
- takes at most ``TIMEOUT`` seconds in all (name lookup, connects, every read), and
  stops reading past ``MAX_BYTES`` while streaming;
- accepts only a 200 answer with a JSON content type that parses.

One ``LinkedContent`` is made per run or batch; it keeps each URL's answer, or its
error, for its life, so 100,000 profiles cost one request per URL (and one slow URL one
timeout, not 100,000).

Tests talk to a server on loopback: ``settings.LINKED_CONTENT_ALLOWED_NETWORKS`` (CIDRs,
metadata addresses excepted) exempts them. config/settings.py reads neither setting from
the environment, so a deployment cannot loosen them by accident.

Why not a library: the SSRF-guard packages on PyPI are young one-person projects, or
wrap httpx, which Clarion does not otherwise use. urllib3 (already here through
requests) connects to a given address with a given SNI host name, which is all that
checking the connected address needs.
"""

import json
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import urllib3.exceptions
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError

from accounts.params import int_between, is_digits
from delivery.addresses import networks, refusal

TIMEOUT = 3.0  # seconds for the whole fetch, redirects included
MAX_BYTES = 64 * 1024
MAX_REDIRECTS = 3
REDIRECTS = {301, 302, 303, 307, 308}
# getaddrinfo() has no timeout of its own: it runs here, and we stop waiting at the deadline.
_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="linked-content-dns")


class LinkedContentError(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query
    shown: str  # for messages: no query, which may hold an API key

    @classmethod
    def parse(cls, url, allow_http):
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise LinkedContentError(f"{url[:100]!r} is not a URL.") from None
        shown = f"{parts.scheme}://{parts.hostname}{parts.path}"
        if parts.scheme != "https" and not (parts.scheme == "http" and allow_http):
            raise LinkedContentError(f"{shown}: Linked Content must be an https URL.")
        if not parts.hostname or parts.username or parts.password:
            raise LinkedContentError(f"{shown}: give a host name, without user or password.")
        default = 443 if parts.scheme == "https" else 80
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(parts.scheme, parts.hostname, port or default, path, shown)

    @property
    def host_header(self):
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _failure(error):
    if isinstance(error, TimeoutError | urllib3.exceptions.TimeoutError):
        return "timed out"
    if isinstance(error, ssl.SSLError):
        return "the TLS handshake or certificate check failed"
    return "could not connect"


class LinkedContent:
    def __init__(self, *, timeout=TIMEOUT, max_bytes=MAX_BYTES):
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.allow_http = getattr(settings, "LINKED_CONTENT_ALLOW_HTTP", False)
        self.allowed_networks = networks(getattr(settings, "LINKED_CONTENT_ALLOWED_NETWORKS", ()))
        self._answers = {}  # url -> parsed JSON or LinkedContentError

    def get(self, url):
        """The URL's JSON, parsed. Shared by every caller of this instance: do not change it."""
        if url not in self._answers:
            try:
                self._answers[url] = self._fetch(url)
            except LinkedContentError as error:
                self._answers[url] = error
        answer = self._answers[url]
        if isinstance(answer, LinkedContentError):
            raise LinkedContentError(answer.message)
        return answer

    def _fetch(self, url):
        deadline = time.monotonic() + self.timeout
        for _ in range(MAX_REDIRECTS + 1):
            target = Target.parse(url, self.allow_http)
            connection, sock, response = self._open(target, deadline)
            try:
                if response.status in REDIRECTS and response.headers.get("Location"):
                    url = urljoin(url, response.headers["Location"])
                    continue
                return self._json(target, sock, response, deadline)
            finally:
                connection.close()
        raise LinkedContentError(f"{target.shown}: more than {MAX_REDIRECTS} redirects.")

    def _addresses(self, target, deadline):
        lookup = _resolver.submit(socket.getaddrinfo, target.host, target.port, type=socket.SOCK_STREAM)
        try:
            infos = lookup.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            raise LinkedContentError(f"{target.shown}: the name lookup took too long.") from None
        except OSError:
            raise LinkedContentError(f"{target.shown}: no such host.") from None
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        for address in addresses:
            reason = refusal(address, self.allowed_networks)
            if reason:
                raise LinkedContentError(f"{target.shown}: refused, {target.host} is {reason}.")
        return addresses

    def _open(self, target, deadline):
        """(connection, its socket, response) from the first checked address that answers."""
        failure = "could not connect"
        for address in self._addresses(target, deadline):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                failure = "timed out"
                break
            if target.scheme == "https":
                # Connect to the checked address; SNI and the certificate check use the host name.
                connection = HTTPSConnection(address, target.port, timeout=remaining, server_hostname=target.host)
            else:
                connection = HTTPConnection(address, target.port, timeout=remaining)
            try:
                connection.request(
                    "GET",
                    target.path,
                    headers={
                        "Host": target.host_header,
                        "Accept": "application/json",
                        "Accept-Encoding": "identity",  # what we count is what we parse: no zip bombs
                        "User-Agent": "Clarion Linked Content",
                    },
                    preload_content=False,
                    decode_content=False,
                )
                sock = connection.sock  # http.client lets go of it once the answer says "close"
                return connection, sock, connection.getresponse()
            except (OSError, HTTPError) as error:
                connection.close()
                failure = _failure(error)
        if failure == "timed out":
            failure = f"timed out, no answer within {self.timeout:g} s"
        raise LinkedContentError(f"{target.shown}: {failure}.")

    def _json(self, target, sock, response, deadline):
        if response.status != 200:
            raise LinkedContentError(f"{target.shown}: answered HTTP {response.status}, not 200.")
        kind = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if kind != "application/json" and not kind.endswith("+json"):
            raise LinkedContentError(f"{target.shown}: answered {kind or 'no content type'}, not JSON.")
        declared = response.headers.get("Content-Length", "")
        if is_digits(declared) and int_between(declared, 0, self.max_bytes) is None:
            raise LinkedContentError(f"{target.shown}: larger than {self.max_bytes // 1024} KB.")
        body = bytearray()
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LinkedContentError(f"{target.shown}: timed out.")
                # One socket read at a time, each bounded by what is left of the deadline,
                # so a server dripping bytes cannot stretch the fetch. (http.client closes
                # the socket itself once a declared length has been read: fileno() is -1.)
                if sock.fileno() >= 0:
                    sock.settimeout(remaining)
                chunk = response.read1(16 * 1024)
                if not chunk:
                    break
                body += chunk
                if len(body) > self.max_bytes:
                    raise LinkedContentError(f"{target.shown}: larger than {self.max_bytes // 1024} KB.")
        except (OSError, HTTPError):
            raise LinkedContentError(f"{target.shown}: timed out or cut off while reading.") from None
        try:
            return json.loads(body)
        except ValueError:
            raise LinkedContentError(f"{target.shown}: the answer is not valid JSON.") from None
