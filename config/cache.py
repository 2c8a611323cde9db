"""Django's Redis cache with one redis-py client per connection pool.

Django 5.2's ``RedisCacheClient.get_client`` makes a new ``redis.Redis`` for every cache
call, and redis-py fills about 170 response callbacks into each: close to 1 ms of CPU
per call on the development VM, three times per SDK request (the site look-up and the
rate limit's add and incr) — more than the request's own database work
(bench/sdk.py). A ``redis.Redis`` is safe to share between threads (its connection
pool hands each command a connection), so one per pool serves the process.
"""

from django.core.cache.backends import redis


class _Client(redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _Client
