"""API keys: made, revoked, and checked on every call of the JSON API."""

import hmac
import re
import time

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts import audit
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
    parts = token.split("_")
    # The prefix is hex (ApiKey.issue); anything else, NUL included, is no key of ours
    # and never reaches the database, which would refuse NUL with a 500.
    if len(parts) < 3 or parts[0] != "clk" or not _PREFIX.fullmatch(parts[1]):
        return None
    prefix = parts[1]
    cached = cache.get(_key_cache_key(prefix))
    if cached is not None:
        key = ApiKey.from_db("default", KEY_FIELDS, cached)
    else:
        key = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).only(*KEY_FIELDS).first()
        if key is None:
            return None
        cache.set(_key_cache_key(prefix), [getattr(key, name) for name in KEY_FIELDS], KEY_CACHE_SECONDS)
    if not hmac.compare_digest(key.hashed_key, ApiKey.hash(token)):
        return None
    _note_use(key)
    return key


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
