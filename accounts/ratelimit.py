"""Request counts per window for rate limits: django-ratelimit's windows and keys, counted
in one Redis round trip.

django-ratelimit's ``get_usage`` counts with the cache's ``add`` then ``incr``: two round
trips to Redis for every request after a window's first, on every SDK call and API call.
With Redis as the cache (Django's RedisCache, or config.cache's, production), ``usage`` sends INCR and
EXPIRE … NX in one pipeline instead: the same key, the same window (its end jittered per
key as django-ratelimit does), the same answer. With another cache (the database table
of the embedded mode) it is django-ratelimit's own ``get_usage``. The window and key come
from django-ratelimit's own helpers (private: requirements.txt pins 4.1.0, and
accounts/tests/test_ratelimit.py counts on from its get_usage and back).
"""

import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django_ratelimit.core import EXPIRATION_FUDGE, _get_window, _make_cache_key, _split_rate, get_usage


def usage(request, *, group, value, rate):
    """This request counted against ``value``'s budget in ``group`` at ``rate`` ("300/m"):
    ``{"count", "limit", "should_limit", "time_left"}`` as django-ratelimit's get_usage
    answers (a request over the limit is counted too)."""
    cache = caches[settings.RATELIMIT_USE_CACHE]
    if not isinstance(cache, RedisCache):
        return get_usage(request, group=group, key=lambda group, request: value, rate=rate, increment=True)
    limit, period = _split_rate(rate)
    window = _get_window(value, period)
    key = cache.make_and_validate_key(_make_cache_key(group, window, rate, value, get_usage.ALL))
    client = cache._cache.get_client(key, write=True)
    pipe = client.pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, period + EXPIRATION_FUDGE, nx=True)  # set once, by the window's first request
    count, _ = pipe.execute()
    return {"count": count, "limit": limit, "should_limit": count > limit, "time_left": window - int(time.time())}
