"""The Web Push provider's HTTP/1.1 client (delivery/providers/webpush/client.py) against a
scripted service on loopback: each connection answers its requests with the bytes given."""

import asyncio

import pytest
from yarl import URL

from delivery.providers.webpush.client import NoAnswer, PushClient
from delivery.providers.webpush.resolver import PublicAddressResolver

CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"


class Scripted:
    """Answers the n-th request on any connection with ``answers[n]`` (bytes, or a callable
    given the writer); counts connections and requests."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.connections = 0
        self.requests = []

    async def handle(self, reader, writer):
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                self.requests.append((head, await reader.readexactly(length)))
                answer = self.answers.pop(0)
                if callable(answer):
                    await answer(writer)
                    return
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def exchange(answers, posts, *, read_timeout=2, pause=0.0):
    """Run ``posts`` (bodies) one after another through one client; (results, service)."""
    service = Scripted(answers)

    async def run():
        server = await asyncio.start_server(service.handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = PushClient(resolver=PublicAddressResolver(), limit=10, connect_timeout=2, read_timeout=read_timeout)
        results = []
        try:
            for body in posts:
                try:
                    answer = await client.post(URL(f"http://127.0.0.1:{port}/push/s1"), b"TTL: 60\r\n", body)
                    results.append((answer.status, answer.headers.get("retry-after")))
                except NoAnswer as error:
                    results.append(("no answer", str(error)))
                await asyncio.sleep(pause)
        finally:
            await client.close()
            server.close()
            await server.wait_closed()
        return results

    return asyncio.run(run()), service


def test_it_posts_the_body_with_its_length_and_reuses_the_connection():
    results, service = exchange([CREATED, CREATED], [b"one", b"two!"])

    assert results == [(201, None), (201, None)]
    assert service.connections == 1
    head, body = service.requests[1]
    assert head.startswith(b"POST /push/s1 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"TTL: 60\r\n" in head and b"Content-Length: 4\r\n" in head and body == b"two!"


def test_a_chunked_answer_with_trailers_is_read_to_its_end():
    chunked = b"HTTP/1.1 429 Too Many\r\nRetry-After: 30\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunked += b"5;x=1\r\nslow \r\n4\r\ndown\r\n0\r\nX-Trailer: 1\r\n\r\n"
    results, service = exchange([chunked, CREATED], [b"a", b"b"])

    assert results == [(429, "30"), (201, None)]
    assert service.connections == 1  # the whole answer was read: the connection went on


def test_an_interim_answer_is_skipped():
    results, _ = exchange([b"HTTP/1.1 100 Continue\r\n\r\n" + CREATED], [b"a"])

    assert results == [(201, None)]


def test_connection_close_is_not_reused():
    closing = b"HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    results, service = exchange([closing, CREATED], [b"a", b"b"])

    assert results == [(201, None), (201, None)]
    assert service.connections == 2


def test_an_answer_without_length_ends_when_the_service_closes():
    async def until_close(writer):
        writer.write(b"HTTP/1.1 410 Gone\r\n\r\nthe subscription expired")
        await writer.drain()

    results, service = exchange([until_close, CREATED], [b"a", b"b"])

    assert results == [(410, None), (201, None)]
    assert service.connections == 2


def test_a_connection_the_service_closed_while_idle_is_replaced_once():
    async def answer_then_close(writer):
        writer.write(CREATED)  # kept alive as far as the client knows, then dropped
        await writer.drain()

    results, service = exchange([answer_then_close, CREATED], [b"a", b"b"], pause=0.1)

    assert results == [(201, None), (201, None)]
    assert service.connections == 2
    assert [body for _, body in service.requests] == [b"a", b"b"]


def test_a_service_that_does_not_answer_in_time_is_no_answer():
    async def silent(writer):
        await asyncio.sleep(1)

    results, _ = exchange([silent], [b"a"], read_timeout=0.2)

    assert results == [("no answer", "no answer in time")]


@pytest.mark.parametrize(
    "answer",
    [b"SMTP ready\r\n\r\n", b"HTTP/1.1 20x Odd\r\n\r\n", b"HTTP/1.1 201 OK\r\nContent-Length: -1\r\n\r\n"],
)
def test_a_malformed_answer_is_no_answer(answer):
    results, _ = exchange([answer], [b"a"])

    assert results[0][0] == "no answer"


def test_a_service_that_closes_mid_answer_is_no_answer():
    async def cut(writer):
        writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()

    results, _ = exchange([cut], [b"a"])

    assert results == [("no answer", "the connection closed in the middle of an answer")]
