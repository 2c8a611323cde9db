"""The OAuth2 access token FCM HTTP v1 wants, from a service account's JSON key.

google-auth signs the JWT assertion (RS256, RFC 7523) and trades it at the key's
``token_uri``. One token per service account is shared by every send of the process,
across threads and event loops (``send_many_sync`` opens a loop per call), and replaced
``RENEW_BEFORE`` its expiry, so a batch never carries a token that expires in flight.
Google's tokens live an hour; a process refreshes about once an hour, not per send.
"""

import asyncio
import functools
import hashlib
import threading
from datetime import UTC, datetime, timedelta

import google.auth.exceptions
import google.auth.transport.requests
from google.oauth2 import service_account

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
RENEW_BEFORE = timedelta(minutes=5)
TIMEOUT = (10, 30)  # seconds to connect (the seed's 10 s) and to read the token endpoint's answer

_shared = {}  # (client_email, key fingerprint, token_uri) -> AccessTokens
_shared_lock = threading.Lock()


class TokenUnavailable(Exception):
    """The token endpoint could not be reached (retry later) or refused the assertion."""

    def __init__(self, refused):
        super().__init__("token endpoint refused the assertion" if refused else "token endpoint unreachable")
        self.refused = refused


class AccessTokens:
    def __init__(self, info, token_uri=None):
        info = dict(info)
        if token_uri:
            info["token_uri"] = token_uri
        self.client_email = info["client_email"]
        self.token_uri = info["token_uri"]
        self._credentials = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
        self._lock = threading.Lock()
        self.refreshes = 0

    @classmethod
    def shared(cls, info, token_uri=None):
        """The one instance for this service account and token endpoint in this process."""
        fingerprint = hashlib.sha256(info["private_key"].encode()).hexdigest()  # a new key gets a new token
        key = (info["client_email"], fingerprint, token_uri or info["token_uri"])
        with _shared_lock:
            if key not in _shared:
                _shared[key] = cls(info, token_uri)
            return _shared[key]

    def __repr__(self):
        # Keeps the key and the token out of tracebacks and debug output.
        return f"<AccessTokens {self.client_email} refreshed {self.refreshes} times>"

    def _fresh(self):
        credentials = self._credentials
        if credentials.token is None or credentials.expiry is None:
            return False
        now = datetime.now(UTC).replace(tzinfo=None)  # google-auth keeps expiry as naive UTC
        return credentials.expiry - now > RENEW_BEFORE

    def _refresh(self):
        try:
            request = functools.partial(google.auth.transport.requests.Request(), timeout=TIMEOUT)
            self._credentials.refresh(request)
        except google.auth.exceptions.RefreshError as error:
            # Whether the endpoint answered: a refused assertion is not cured by retrying soon.
            raise TokenUnavailable(refused=not getattr(error, "retryable", False)) from None
        except google.auth.exceptions.TransportError:
            raise TokenUnavailable(refused=False) from None
        self.refreshes += 1

    def _get(self, rejected=None):
        with self._lock:
            # Another send may have refreshed while this one waited for the lock.
            if self._fresh() and self._credentials.token != rejected:
                return self._credentials.token
            self._refresh()
            return self._credentials.token

    async def token(self):
        if self._fresh():
            return self._credentials.token
        # The refresh is a blocking HTTP call: keep it off the event loop.
        return await asyncio.to_thread(self._get)

    async def token_after_rejection(self, rejected):
        """A new token after FCM answered 401 to ``rejected``; refreshed once however many sends saw it."""
        return await asyncio.to_thread(self._get, rejected)
