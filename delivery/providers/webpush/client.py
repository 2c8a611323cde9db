"""The HTTP/1.1 client of the Web Push provider: POSTs over kept-alive connections, nothing else.

A push is one small POST whose answer is a status line and a few headers (RFC 8030 §5), so
a general client's work per request — timers, tracing hooks, cookie and header merging,
payload wrappers, redirect handling — was most of the sender's cost: aiohttp's
``ClientSession`` took 38 % of the sending process's CPU, more than the encryption
(py-spy in bench/README.md, send.py). This client writes the request bytes in one call and
reads the status, ``Retry-After`` and the body's framing; it never follows a redirect (a
3xx is an answer, ``transport.py``). The provider's checks stay where they were: the
endpoint is checked before a request is made, and a name is looked up through
``PublicAddressResolver`` (an address that was checked is the one connected to), its answer
kept for ``DNS_TTL`` as aiohttp's connector did. TLS verifies the push service's certificate
against the system's trust store, as aiohttp did by default.

Connections are kept per (scheme, host, port) and reused; a reused connection that closes
before any byte of an answer (the service dropped it while it was idle) is retried once on
a new connection, which is what browsers and aiohttp do for idle connections.
"""

import asyncio
import socket
import ssl
import time
from collections import defaultdict

from accounts.params import MAX_DIGITS, is_digits
from delivery.providers.webpush.resolver import RefusedAddress

DNS_TTL = 10  # seconds, aiohttp's default for its connector's cache
MAX_HEAD = 64 * 1024  # bytes of status line and headers we read before giving up on an answer
MAX_BODY = 1024 * 1024  # bytes of an answer's body we read (push services answer with a few)


class NoAnswer(Exception):
    """The push service could not be reached or did not answer (a connection error, a
    timeout, a malformed answer): the push may be tried again later."""


class Answer:
    __slots__ = ("headers", "status")

    def __init__(self, status, headers):
        self.status = status
        self.headers = headers  # lower-cased names -> the last value given


class PushClient:
    def __init__(self, *, resolver, limit, connect_timeout, read_timeout, ssl_context=None):
        self.resolver = resolver
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.ssl_context = ssl_context
        self._gate = asyncio.Semaphore(limit)  # connections in use at once
        self._idle = defaultdict(list)  # (scheme, host, port) -> idle connections
        self._addresses = {}  # (host, port) -> (when looked up, [addresses])
        self.closed = False

    async def post(self, url, head, body):
        """POST ``body`` to ``url`` (a yarl URL of a checked endpoint); ``head`` holds the
        request's own header lines (bytes, each ending in CRLF). An ``Answer``, or raises
        NoAnswer, or the resolver's RefusedAddress."""
        key = (url.scheme, url.raw_host, url.port)
        start = request_start(url.raw_path_qs, url.host_port_subcomponent)
        return await self.send(key, b"".join((start, head, b"Content-Length: %d\r\n\r\n" % len(body), body)))

    async def send(self, key, request):
        """Send the whole ``request`` (bytes: request line, headers, body) to ``key``, (scheme,
        host, port) of a checked endpoint; as ``post``."""
        async with self._gate:
            connection = self._reused(key)
            if connection is not None:
                try:
                    return await self._exchange(key, connection, request)
                except _ClosedUnanswered:
                    pass  # closed while idle: once more on a new connection
            connection = await self._connect(key)
            try:
                return await self._exchange(key, connection, request)
            except _ClosedUnanswered as error:
                raise NoAnswer("the connection closed before an answer") from error

    async def close(self):
        self.closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    def _reused(self, key):
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            if connection.open:
                return connection
        return None

    async def _exchange(self, key, connection, request):
        try:
            answer = await connection.request(request, self.read_timeout)
        except BaseException:
            connection.close()
            raise
        if connection.reusable and not self.closed:
            self._idle[key].append(connection)
        else:
            connection.close()
        return answer

    async def _connect(self, key):
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        options = {}
        if scheme == "https":
            options = {"ssl": self.ssl_context or default_ssl_context(), "server_hostname": host}
        failure = None
        for address in await self._lookup(host, port):
            try:
                async with asyncio.timeout(self.connect_timeout):
                    _, connection = await loop.create_connection(
                        Connection, address["host"], address["port"], family=address["family"], **options
                    )
                return connection
            except (OSError, TimeoutError, ssl.SSLError) as error:
                failure = error  # the next address, as aiohttp tries them
        raise NoAnswer(f"cannot connect: {type(failure).__name__}") from failure

    async def _lookup(self, host, port):
        if _is_address(host):  # checked by the provider: literals skip the resolver, as in aiohttp
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            return [{"host": host.strip("[]"), "port": port, "family": family}]
        found = self._addresses.get((host, port))
        now = time.monotonic()
        if found is None or now - found[0] > DNS_TTL:
            try:
                addresses = await self.resolver.resolve(host, port, family=socket.AF_UNSPEC)
            except RefusedAddress:
                raise
            except OSError as error:
                raise NoAnswer(f"cannot look up {host}: {error}") from error
            found = self._addresses[host, port] = (now, addresses)
        return found[1]


def request_start(target, host):
    """A POST's request line and Host header (ASCII: a checked endpoint's)."""
    return f"POST {target} HTTP/1.1\r\nHost: {host}\r\n".encode("ascii")


def default_ssl_context():
    global _ssl_context
    if _ssl_context is None:
        _ssl_context = ssl.create_default_context()
    return _ssl_context


_ssl_context = None


def _is_address(host):
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host.strip("[]"))
    except OSError:
        return False
    return True


class _ClosedUnanswered(Exception):
    """The connection closed before a byte of the answer came."""


class Connection(asyncio.Protocol):
    """One kept-alive connection: a request at a time, its answer parsed as it comes."""

    def __init__(self):
        self.transport = None
        self.open = False
        self.reusable = False
        self._buffer = bytearray()
        self._waiter = None
        self._status = None
        self._headers = None
        self._need = None  # body bytes still to come, or "chunked", or "close" (until EOF)
        self._keep = False  # the service keeps the connection open after this answer

    def connection_made(self, transport):
        self.transport = transport
        self.open = True

    def connection_lost(self, exc):
        self.open = False
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            if self._need == "close" and self._status is not None:
                waiter.set_result(self._answer(reusable=False))
            elif not self._buffer and self._status is None:
                waiter.set_exception(_ClosedUnanswered())
            else:
                waiter.set_exception(NoAnswer("the connection closed in the middle of an answer"))

    def close(self):
        self.open = False
        if self.transport is not None:
            self.transport.close()

    async def request(self, data, read_timeout):
        if not self.open:
            raise _ClosedUnanswered()
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        self._status = self._headers = self._need = None
        self._buffer.clear()
        self.reusable = False
        self.transport.write(data)
        timer = loop.call_later(read_timeout, _time_out, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def data_received(self, data):
        self._buffer += data
        waiter = self._waiter
        if waiter is None or waiter.done():
            self.close()  # bytes nobody asked for: this connection cannot be trusted again
            return
        try:
            answer = self._parse()
        except NoAnswer as error:
            waiter.set_exception(error)
            return
        if answer is not None:
            waiter.set_result(answer)

    def eof_received(self):
        return False  # close the transport; connection_lost settles the answer

    def _parse(self):
        """The answer once it is complete, else None (more bytes to come)."""
        buffer = self._buffer
        while self._status is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD:
                    raise NoAnswer("an answer's headers are too long")
                return None
            head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
            del buffer[: end + 4]
            version, _, rest = head[0].partition(" ")
            code = rest[:3]
            if not version.startswith("HTTP/1.") or not is_digits(code):
                raise NoAnswer("not an HTTP/1.1 answer")
            headers = {}
            for line in head[1:]:
                name, colon, value = line.partition(":")
                if not colon:
                    raise NoAnswer("a malformed header line")
                headers[name.strip().lower()] = value.strip()
            status = int(code)
            if 100 <= status < 200:
                continue  # an interim answer (RFC 9110 §15.2); the final one follows
            self._status, self._headers = status, headers
            keep = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
            if status in (204, 304):
                self._need = 0
            elif "chunked" in headers.get("transfer-encoding", "").lower():
                self._need = "chunked"
            elif "content-length" in headers:
                length = headers["content-length"]
                if not is_digits(length) or len(length) > MAX_DIGITS:
                    raise NoAnswer("a malformed Content-Length")
                self._need = int(length)
            else:
                self._need, keep = "close", False
            self._keep = keep
        if self._need == "close":
            if len(buffer) > MAX_BODY:
                raise NoAnswer("an answer's body is too long")
            return None  # complete when the service closes (connection_lost)
        if self._need == "chunked":
            return self._chunks()
        if len(buffer) < self._need:
            return None
        reusable = self._keep and len(buffer) == self._need
        return self._answer(reusable=reusable)

    def _chunks(self):
        """RFC 9112 §7.1: skip whole chunks; done at the last (zero-size) one and its trailers."""
        buffer = self._buffer
        while True:
            end = buffer.find(b"\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD:
                    raise NoAnswer("a malformed chunk")
                return None
            size_text = bytes(buffer[:end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise NoAnswer("a malformed chunk size") from None
            if size == 0:  # the last chunk; then trailer lines, if any, and an empty line
                if buffer[end + 2 : end + 4] == b"\r\n":
                    stop = end + 4
                else:
                    found = buffer.find(b"\r\n\r\n", end + 2)
                    if found < 0:
                        return None
                    stop = found + 4
                del buffer[:stop]
                return self._answer(reusable=self._keep and not buffer)
            if size > MAX_BODY or len(buffer) > MAX_BODY + MAX_HEAD:
                raise NoAnswer("an answer's body is too long")
            if len(buffer) < end + 2 + size + 2:
                return None
            del buffer[: end + 2 + size + 2]

    def _answer(self, *, reusable):
        self.reusable = reusable and self.open
        return Answer(self._status, self._headers)


def _time_out(waiter):
    if not waiter.done():
        waiter.set_exception(NoAnswer("no answer in time"))
