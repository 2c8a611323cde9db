"""API keys: made, revoked, and checked on every call of the JSON API."""

import hmac
import re
import time

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from django.utils import timezone
from django_ratelimit.core import EXPIRATION_FUDGE, _get_window, _make_cache_key, get_usage

from accounts import audit
from accounts.ratelimit import usage as rate_usage
from segments.models import ApiKey


@transaction.atomic
def create_api_key(name, *, created_by=None, rate_per_minute=600):
    """Returns (ApiKey, the full key). The full key is shown once and never stored."""
    key = ApiKey(name=name, created_by=created_by, rate_per_minute=rate_per_minute)
    full_key = key.issue()
    key.save()
    audit.record(created_by, audit.Verb.CREATED, key, f"{rate_per_minute}/min")
    return key, full_key


@transaction.atomic
def revoke_api_key(key, *, user=None):
    """Revoke ``key`` (clients using it get 401 from now on); ``user`` did it, for the audit log."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit.record(user, audit.Verb.REVOKED, key)


# Every API call checks its key. The unrevoked key of a prefix is kept in the cache
# (Redis in production) for a short while, and dropped on every save or delete
# (``forget_api_key``, connected in apps.py): revoke_api_key saves, so a revoked key is
# refused from the next request on, in every process. Only what the check needs is
# cached; the hash of a 256-bit random key tells nothing about the key.
KEY_CACHE_SECONDS = 30
KEY_FIELDS = ["id", "name", "prefix", "hashed_key", "rate_per_minute"]
# last_used_at is for people ("used 3 minutes ago"); writing it on every request would
# add a row update to each call, so it is written at most once a minute per key.
LAST_USED_RESOLUTION_SECONDS = 60
# Whether the minute's mark is set is asked of the cache at most every few seconds per key
# and process: asking on every call was one of a single event's four Redis round trips
# (bench/sdk.py). last_used_at then lags the last use by at most a minute and this.
MARK_ASKED_EVERY_SECONDS = 10
_mark_asked = {}
_PREFIX = re.compile(rf"[0-9a-f]{{1,{ApiKey.PREFIX_LENGTH}}}")


def _key_cache_key(prefix):
    return f"segments:api-key:{prefix}"


def key_for_token(token):
    """The unrevoked ApiKey that ``token`` (clk_<prefix>_<secret>) is, or None. Notes its use."""
    prefix = _prefix(token)
    if prefix is None:
        return None
    key = _key(prefix, cache.get(_key_cache_key(prefix)))
    if key is None or not _matches(key, token):
        return None
    _note_use(key)
    return key


def _prefix(token):
    parts = token.split("_")
    # The prefix is hex (ApiKey.issue); anything else, NUL included, is no key of ours
    # and never reaches the database, which would refuse NUL with a 500.
    if len(parts) < 3 or parts[0] != "clk" or not _PREFIX.fullmatch(parts[1]):
        return None
    return parts[1]


def _key(prefix, cached):
    """The unrevoked key of ``prefix`` from its cached record, else from the database (and cached)."""
    if cached is not None:
        return ApiKey.from_db("default", KEY_FIELDS, cached)
    key = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).only(*KEY_FIELDS).first()
    if key is not None:
        cache.set(_key_cache_key(prefix), [getattr(key, name) for name in KEY_FIELDS], KEY_CACHE_SECONDS)
    return key


def _matches(key, token):
    return hmac.compare_digest(key.hashed_key, ApiKey.hash(token))


# Every API call reads its key's record and counts its rate limit: two Redis round trips,
# each about 0.1 ms of a single event's CPU in redis-py and Django's cache (bench/sdk.py).
# The limit's counter is named after the key's rate, which is in the record, so a process
# remembers the rate of each key it has checked and sends the record's GET and the count
# in one pipeline; a guess that turns out wrong (the key's rate changed, the key was
# revoked, the secret does not match) is taken back with DECR, and a changed rate is then
# counted as before (a counter outlives its window, so the DECR never meets an expired
# one). Only keys that passed the check are remembered: a guessed prefix costs what it
# did. The counter is accounts.ratelimit's (django-ratelimit's key and window):
# segments/tests/test_api_key_round_trip.py counts on from one to the other.
_rates = {}


def checked_and_counted(request, token):
    """(the unrevoked ApiKey that ``token`` is, this request counted against its
    ``rate_per_minute`` as accounts.ratelimit.usage answers), or (None, None): a call
    without a valid key is not counted against any key."""
    prefix = _prefix(token)
    rate = _rates.get(prefix)
    redis = caches[DEFAULT_CACHE_ALIAS]
    # Both in one Redis (production); the embedded mode's cache table counts as before.
    if rate is None or not isinstance(redis, RedisCache) or settings.RATELIMIT_USE_CACHE != DEFAULT_CACHE_ALIAS:
        key = key_for_token(token)
        if key is None:
            return None, None
        _rates[key.prefix] = key.rate_per_minute
        return key, _count(request, key)
    client = redis._cache.get_client(write=True)
    counter, window = _counter(redis, prefix, rate)
    pipe = client.pipeline(transaction=False)
    pipe.get(redis.make_key(_key_cache_key(prefix)))
    pipe.incr(counter)
    pipe.expire(counter, 60 + EXPIRATION_FUDGE, nx=True)  # as accounts.ratelimit: set by the window's first
    record, count, _ = pipe.execute()
    key = _key(prefix, None if record is None else redis._cache._serializer.loads(record))
    if key is None or not _matches(key, token):
        client.decr(counter)  # not this key's request
        _rates.pop(prefix, None)
        return None, None
    _note_use(key)
    if key.rate_per_minute != rate:
        client.decr(counter)  # counted at the old rate: counted again at the new one
        _rates[prefix] = key.rate_per_minute
        return key, _count(request, key)
    return key, {"count": count, "limit": rate, "should_limit": count > rate, "time_left": window - int(time.time())}


def _count(request, key):
    return rate_usage(request, group="api", value=key.prefix, rate=f"{key.rate_per_minute}/m")


def _counter(redis, prefix, rate):
    """The Redis key of the rate-limit counter accounts.ratelimit.usage counts ``prefix``'s
    calls in at ``rate`` a minute, and the end of its window."""
    window = _get_window(prefix, 60)
    return redis.make_key(_make_cache_key("api", window, f"{rate}/m", prefix, get_usage.ALL)), window


def _note_use(key):
    now = time.time()
    if now - _mark_asked.get(key.prefix, 0) < MARK_ASKED_EVERY_SECONDS:
        return
    _mark_asked[key.prefix] = now
    if cache.add(f"segments:api-key-used:{key.prefix}", 1, LAST_USED_RESOLUTION_SECONDS):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())


def forget_api_key(sender, instance, **kwargs):
    """Drop a saved or deleted key from the cache, now and again once its transaction
    commits (a request in between may have cached the row as it was)."""
    cache_key = _key_cache_key(instance.prefix)
    cache.delete(cache_key)
    transaction.on_commit(lambda: cache.delete(cache_key))
