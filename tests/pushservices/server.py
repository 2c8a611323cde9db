"""Serving a local push service: an aiohttp app on 127.0.0.1, on a free port, with
its own event loop in a thread, so synchronous tests and providers can call it."""

import asyncio
import threading

from aiohttp import web


class ThreadedService:
    """Subclasses add their routes in ``routes(app)``; ``origin`` is set once started."""

    name = "local push service"
    client_max_size = 1024 * 1024

    def routes(self, app):
        raise NotImplementedError

    def start(self):
        started = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def serve():
            app = web.Application(client_max_size=self.client_max_size)
            self.routes(app)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", 0).start()
            self.origin = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
            started.set()

        def run():
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError(f"the {self.name} did not start")
        return self

    def stop(self):
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
