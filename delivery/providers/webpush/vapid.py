"""VAPID headers (RFC 8292), one per push-service origin, reused until close to expiry.

Signing costs an ECDSA operation per header; sending to a million subscriptions of one
push service needs one header, not a million (DESIGN.md "Dependency decisions").
"""

import threading
import time
from urllib.parse import urlsplit

from py_vapid import Vapid02

# RFC 8292 §2: push services reject an ``exp`` more than 24 h ahead. 12 h leaves room for a
# clock that runs ahead of theirs; a header is replaced when less than an hour is left so
# a slow send never carries one that expires in flight.
LIFETIME = 12 * 3600
RENEW_BEFORE = 3600


DEFAULT_PORTS = {"https": 443, "http": 80}


def origin_of(endpoint):
    """RFC 8292 §2: ``aud`` is the origin of the push resource, serialised as RFC 6454 §6.2
    says: lower-case scheme and host, the port only when it is not the scheme's default."""
    parts = urlsplit(endpoint)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError("not an http(s) URL")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = parts.port  # raises ValueError for a port that is not a number
    return f"{scheme}://{host}" + (f":{port}" if port and port != DEFAULT_PORTS[scheme] else "")


class VapidHeaders:
    def __init__(self, private_key, subject, *, lifetime=LIFETIME, renew_before=RENEW_BEFORE):
        """``private_key``: base64url raw P-256 scalar, as VapidKey stores it."""
        self._vapid = Vapid02.from_raw(private_key.encode())
        self.subject = subject
        self.lifetime = lifetime
        self.renew_before = renew_before
        self._headers = {}  # origin -> (Authorization value, exp)
        self._lock = threading.Lock()

    def __repr__(self):
        # Keeps the key out of tracebacks and debug output.
        return f"<VapidHeaders {self.subject} for {len(self._headers)} origins>"

    def authorization(self, origin):
        now = time.time()
        with self._lock:
            cached = self._headers.get(origin)
            if cached and cached[1] - now > self.renew_before:
                return cached[0]
            exp = int(now) + self.lifetime
            value = self._vapid.sign({"aud": origin, "exp": exp, "sub": self.subject})["Authorization"]
            self._headers[origin] = (value, exp)
            return value
