"""The APNs provider token: one per signing key, shared by every worker through Django's cache.

Apple refuses a token whose ``iat`` is more than an hour old (403 ExpiredProviderToken) and one
that is replaced too often (429 TooManyProviderTokenUpdates: "refresh your token no more than
once every 20 minutes and no less than once every 60 minutes",
https://developer.apple.com/documentation/usernotifications/establishing-a-token-based-connection-to-apns).
So a token is issued once per key, kept in the cache (Redis in production, a table in the
embedded mode) with its issue time, and replaced by whichever worker first finds it 50 minutes
old — under a cache lock (``cache.add``), so N workers replacing it at once issue one token.

The cache is synchronous (and the database one refuses to run inside an event loop), so the
provider calls these methods through ``sync_to_async``.
"""

import time
import uuid

import jwt
from django.core.cache import cache as default_cache

REISSUE_AFTER = 50 * 60  # seconds; Apple's limit is 60, and no more often than every 20
KEEP_FOR = 60 * 60  # a cached token older than Apple accepts is of no use to anyone
LOCK_FOR = 10  # seconds a worker may hold the issuing lock (signing takes milliseconds)
WAIT_FOR_OTHERS = 5  # seconds to wait for the worker holding the lock before giving up


class TokenUnavailable(Exception):
    """No valid token could be had: another worker holds the lock and has not issued one."""


def cache_key(key_id):
    return f"apns:provider-token:{key_id}"


class ProviderToken:
    def __init__(self, signing_key, key_id, team_id, *, cache=None, reissue_after=REISSUE_AFTER):
        """``signing_key``: the .p8 file's PEM text (an EC P-256 private key)."""
        self._signing_key = signing_key
        self.key_id = key_id
        self.team_id = team_id
        self.cache = cache or default_cache
        self.reissue_after = reissue_after
        self.issued = 0  # how many tokens this process signed, for tests and the curious

    def __repr__(self):
        # Keeps the key out of tracebacks and debug output.
        return f"<ProviderToken key {self.key_id} team {self.team_id}>"

    @property
    def _key(self):
        return cache_key(self.key_id)

    def current(self):
        """(token, issued_at) of the shared token, issuing one when there is none or it is 50 min old."""
        cached = self.cache.get(self._key)
        if cached and time.time() - cached["issued_at"] < self.reissue_after:
            return cached["token"], cached["issued_at"]
        return self._issue(unless_replaced=cached)

    def replace(self, rejected):
        """After APNs refused ``rejected`` (403 ExpiredProviderToken / InvalidProviderToken): a new
        token, unless another worker already replaced it — then theirs, so a burst of 403s on
        many workers issues one token, not one each (which would earn TooManyProviderTokenUpdates)."""
        cached = self.cache.get(self._key)
        if cached and cached["token"] != rejected:
            return cached["token"], cached["issued_at"]
        return self._issue(unless_replaced=cached)

    def _issue(self, unless_replaced):
        lock = f"{self._key}:lock"
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + WAIT_FOR_OTHERS
        while True:
            if self.cache.add(lock, owner, timeout=LOCK_FOR):
                try:
                    # Another worker may have issued between our read and taking the lock.
                    cached = self.cache.get(self._key)
                    if cached and cached != unless_replaced:
                        return cached["token"], cached["issued_at"]
                    return self._sign_and_share()
                finally:
                    if self.cache.get(lock) == owner:
                        self.cache.delete(lock)
            cached = self.cache.get(self._key)
            if cached and cached != unless_replaced:
                return cached["token"], cached["issued_at"]
            if time.monotonic() > deadline:
                raise TokenUnavailable(f"APNs key {self.key_id}: another worker holds the token lock")
            time.sleep(0.05)

    def _sign_and_share(self):
        issued_at = int(time.time())
        token = jwt.encode(
            {"iss": self.team_id, "iat": issued_at},
            self._signing_key,
            algorithm="ES256",
            headers={"kid": self.key_id},
        )
        self.cache.set(self._key, {"token": token, "issued_at": issued_at}, timeout=KEEP_FOR)
        self.issued += 1
        return token, issued_at
