"""Sites, the websites that run the web SDK: made, deleted and their identity check
switched, each with its audit entry in the same transaction (accounts/audit.py)."""

import functools
import hashlib

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from accounts import audit
from accounts.encryption import UnreadableSecret, decrypt, encrypt
from segments.models import Site


@transaction.atomic
def do_create_site(name, allowed_origins, *, user):
    """A new Site (its key and identity secret are made on save); ``user`` made it, or
    None for Clarion itself (the demo site)."""
    site = Site.objects.create(name=name, allowed_origins=allowed_origins)
    audit.record(user, audit.Verb.CREATED, site, "origins " + ", ".join(site.allowed_origins))
    return site


@transaction.atomic
def do_allow_origin(site, origin, *, user):
    """Add ``origin`` to the site's allowed origins, unless it is there already."""
    site = Site.objects.select_for_update().get(pk=site.pk)
    if not site.allows(origin):
        site.allowed_origins = [*site.allowed_origins, origin]
        site.save(update_fields=["allowed_origins"])
        audit.record(user, audit.Verb.CHANGED, site, f"origin {origin} allowed")
    return site


@transaction.atomic
def do_delete_site(site, *, user):
    """Delete ``site``: pages still carrying its key get 403 from the SDK endpoints."""
    audit.record(user, audit.Verb.DELETED, site)  # before the delete, while the site has its id
    site.delete()


@transaction.atomic
def do_set_identity_verification(site, verify, *, user):
    """Whether identify() on ``site`` must carry identityHash (Site.verify_identity)."""
    site.verify_identity = verify
    site.save(update_fields=["verify_identity"])
    audit.record(user, audit.Verb.CHANGED, site, f"identity verification {'on' if verify else 'off'}")


# The web SDK looks its site up on every call. Kept in the cache (Redis in production)
# for a short while and dropped on every save or delete (``forget_site``, connected in
# apps.py), so a removed origin or a deleted site stops working at once in every process;
# the expiry bounds the one race left, a request that read the old row just before a
# change was committed and caches it after. The identity secret stays encrypted in the
# cache, as in the database: a copy of Redis is not a key to every person's identify().
SITE_CACHE_SECONDS = 30
SITE_FIELDS = ["id", "name", "key", "allowed_origins", "verify_identity", "identity_secret"]  # the secret last


def _site_cache_key(key):
    # Hashed: the key comes from the request body before it is known to be ours.
    return f"segments:site:{hashlib.sha256(key.encode()).hexdigest()}"


def site_for_key(key):
    """The Site whose publishable key is ``key``, or None."""
    cache_key = _site_cache_key(key)
    cached = cache.get(cache_key)
    if cached is not None:
        try:
            secret = _opened(cached[-1], tuple(settings.FIELD_ENCRYPTION_KEYS))
            return Site.from_db("default", SITE_FIELDS, [*cached[:-1], secret])
        except UnreadableSecret:
            pass  # cached under a key that has since left FIELD_ENCRYPTION_KEYS: read it again
    site = Site.objects.filter(key=key).only(*SITE_FIELDS).first()
    if site is not None:
        values = [getattr(site, name) for name in SITE_FIELDS[:-1]]
        cache.set(cache_key, [*values, encrypt(site.identity_secret)], SITE_CACHE_SECONDS)
    return site


@functools.lru_cache(maxsize=256)
def _opened(token, keys):
    """The identity secret in a cached site's ``token``: Fernet's decryption (~30 µs) once
    per process and token, not on every identify(). A token is re-encrypted each time a
    process caches its site, so a handful per site are live at once; the bound keeps the
    old ones from piling up. Keyed on FIELD_ENCRYPTION_KEYS too, so a token whose key has
    left the list is opened again and fails (UnreadableSecret, not cached) as it did."""
    return decrypt(token, "cached site")


def forget_site(sender, instance, **kwargs):
    """Drop a saved or deleted site from the cache, now and again once its transaction
    commits (a request in between may have cached the row as it was)."""
    cache_key = _site_cache_key(instance.key)
    cache.delete(cache_key)
    transaction.on_commit(lambda: cache.delete(cache_key))
