"""What the HTTP providers (Web Push, FCM) share: one pooled aiohttp session for all
their posts, at most ``concurrency`` at once (DESIGN.md: pooled async sending).

A session belongs to the event loop it was opened on. The send pipeline keeps one loop per
worker process (``delivery/actions/sending.py``), so the pool and its keep-alive connections
outlive a batch; a caller with a loop of its own (``send_many_sync``, a test) gets a session
of its own on it, closed by its ``aclose``."""

import asyncio
import contextlib
from collections import deque

import aiohttp

from delivery.providers.base import Provider


class PooledHttpProvider(Provider):
    """Subclasses implement ``send_one(session, push) -> Result``."""

    pool_per_loop = True  # the pipeline may keep the pool open between batches (see above)

    def __init__(self, *, concurrency, connect_timeout, read_timeout):
        self.concurrency = concurrency
        self.timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=read_timeout)
        self._sessions = {}  # event loop -> its session

    def _connector(self):
        """Called inside the event loop, once per session."""
        return aiohttp.TCPConnector(limit=self.concurrency)

    def _open(self):
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            # Loops closed without an aclose (a caller's that failed) take nothing more along.
            self._sessions = {other: kept for other, kept in self._sessions.items() if not other.is_closed()}
            session = self._sessions[loop] = self._new_session()
        return session

    def _new_session(self):
        """Called inside the event loop: what ``send_one`` posts through (it has ``closed``
        and ``close()``)."""
        # Push services set no cookie we need, and one device's must never reach another's
        # request; skipping the jar also saves about a tenth of the time per post.
        return aiohttp.ClientSession(
            connector=self._connector(), timeout=self.timeout, cookie_jar=aiohttp.DummyCookieJar()
        )

    async def aclose(self):
        """Close this loop's pool (the next send opens a new one)."""
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()

    async def send_many(self, pushes):
        session = self._open()
        gate = asyncio.Semaphore(self.concurrency)

        async def send(push):
            async with gate:
                return await self.send_one(session, push)

        return await asyncio.gather(*(send(push) for push in pushes))

    async def send_stream(self, pushes, answered):
        """Send ``pushes``, calling ``answered(index, result)`` as each answer comes back (the
        pipeline records them in groups meanwhile: ``sending.answers_in_groups``).

        ``concurrency`` lanes, each sending one push after another until none is left: one
        task per lane, not one per push, and no gate per push, since the lanes are the limit.
        Before this the pipeline ran ``send_many`` on chunks of ten pushes, a task and a
        gather for each chunk and a semaphore round for each push (bench/README.md, send.py)."""
        session = self._open()
        queue = deque(enumerate(pushes))
        async with self._sender(session, pushes) as send:

            async def lane():
                while queue:
                    index, push = queue.popleft()
                    answered(index, await send(index, push))

            lanes = [asyncio.ensure_future(lane()) for _ in range(min(self.concurrency, len(queue)))]
            try:
                await asyncio.gather(*lanes)
            finally:  # cancelled, or a lane failed: no push of this call goes out later
                for running in lanes:
                    running.cancel()

    @contextlib.asynccontextmanager
    async def _sender(self, session, pushes):
        """What ``send_stream``'s lanes call, ``send(index, push) -> Result``; the lanes take
        the pushes in order. A subclass may prepare the pushes ahead here (Web Push encrypts
        them on a thread) and stop that preparation when the call ends."""

        async def send(index, push):
            return await self.send_one(session, push)

        yield send

    async def send_one(self, session, push):
        raise NotImplementedError
