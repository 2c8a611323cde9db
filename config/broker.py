"""Celery's Redis transport with one redis-py client per connection pool for publishing.

kombu's Redis channel makes a new ``redis.Redis`` for every message it publishes
(``Channel.conn_or_acquire`` -> ``_create_client``), and redis-py fills about 170
response callbacks into each: about 0.5 ms of CPU per publish, twice for each request
that records events (live campaigns and stats each queue a task) — the largest single
cost of a single-event ``POST /api/v1/events`` (bench/sdk.py). The same waste
``config/cache.py`` removes from Django's cache. A ``redis.Redis`` is safe to share
between threads (its pool hands each command a connection), so the channel keeps one per
pool; a pool replaced after a fork gets a new client. The worker's consuming client
(asynchronous) is kombu's own, unchanged.
"""

from kombu.transport import redis


class Channel(redis.Channel):
    _publish_client = None

    def _create_client(self, asynchronous=False):
        if asynchronous:
            return super()._create_client(asynchronous=True)
        pool = self.pool
        client = self._publish_client
        if client is None or client.connection_pool is not pool:
            client = self._publish_client = super()._create_client()
        return client


class Transport(redis.Transport):
    Channel = Channel
