"""Which push services a browser's subscription may send the worker to.

A Web Push endpoint (RFC 8030) is a URL the browser hands us through the public SDK, and
the worker later POSTs to it: without a check, anyone holding the public site key could
make the worker post into our own network (SSRF, issue 12). So an endpoint must be

- an https URL (RFC 8030 §8: push services are reached over TLS) without user or password;
- on a host of ``settings.WEBPUSH_ALLOWED_HOSTS``: exact host names or ``*.suffix``
  wildcards, each on port 443 unless the entry names another (``host:8443``).

This is checked when the SDK saves a subscription (no DNS lookup there: a name is only
what it says) and again when sending (rows saved before this check existed), where
``delivery/providers/webpush/`` also resolves the host, refuses private addresses and
connects to the address it checked.

Tests run a Web Push service on loopback over plain http: ``WEBPUSH_ALLOW_HTTP`` and
``WEBPUSH_ALLOWED_NETWORKS`` (CIDRs whose literal addresses are accepted on any port, and
exempt from the address check at send time) let it through. config/settings.py reads
neither from the environment, as for Linked Content, so a deployment cannot loosen them
by accident.
"""

import functools
import ipaddress
import re
from typing import NamedTuple
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from accounts.params import int_between, is_digits

# The push services of the browsers Clarion supports (segments.sdk.schemas.Browser), as
# their subscriptions name them (looked up 2026-12-07):
# - Chrome, Opera and Chromium Edge: FCM, https://fcm.googleapis.com/fcm/send/… (web.dev,
#   "The Web Push Protocol"). The pre-2016 GCM endpoints (android.googleapis.com/gcm/send)
#   are left out: Google shut GCM down in 2019 and Mozilla's autopush stopped routing
#   legacy GCM on 2023-09-22 (mozilla-services/autopush-rs#459).
# - Firefox: Mozilla's autopush, https://updates.push.services.mozilla.com/wpush/v2/…
#   (other autopush hosts share the push.services.mozilla.com suffix).
# - Safari 16+: Apple's Web Push service, which asks servers that restrict endpoints to
#   allow *.push.apple.com (developer.apple.com, "Sending web push notifications in web apps
#   and browsers"); endpoints look like https://web.push.apple.com/….
# - Edge (EdgeHTML) on Windows: WNS channel URIs, https://<region>.notify.windows.com/w/?token=…
#   (learn.microsoft.com, "Windows Push Notification Services (WNS) overview").
# - KaiOS: https://push.kaiostech.com:8443/wpush/v2/…, and JioPhones (KaiOS) at
#   update.kai.jiophone.net:8443 (kaios.dev, "Advanced KaiOS Development: Push
#   Notifications", 2023) — on port 8443, hence the port in the entry.
DEFAULT_ALLOWED_HOSTS = (
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.push.services.mozilla.com",
    "web.push.apple.com",
    "*.push.apple.com",
    "*.notify.windows.com",
    "push.kaiostech.com:8443",
    "update.kai.jiophone.net:8443",
)

# A DNS name in lower case (urlsplit lower-cases hosts): letters, digits and inner
# hyphens per label. Anything else (percent signs, underscores, non-ASCII) is refused
# rather than matched, so no two URL parsers can disagree about which host it names.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
HTTPS_PORT = 443


class Endpoint(NamedTuple):
    """Where an accepted endpoint connects: ``address`` when the host is an IP literal
    (only the tests' networks), which no name lookup will check."""

    scheme: str
    host: str
    port: int
    address: bool = False


class EndpointRefused(ValueError):
    """``str(error)`` says why, for the SDK's 400 and the message's log line. ``malformed``:
    no allow-list could make this URL acceptable (not https, a user name, an address
    instead of a name), as opposed to a name that is merely not on the list."""

    def __init__(self, reason, *, malformed):
        super().__init__(reason)
        self.malformed = malformed


@functools.lru_cache(maxsize=8)
def _entries(hosts):
    """((host or '*.suffix', port), ...) from the setting's entries."""
    parsed = []
    for entry in hosts:
        host, _, port = entry.strip().lower().partition(":")
        parsed.append((host, int(port) if port else HTTPS_PORT))
    return tuple(parsed)


def allowed_hosts(entries, name="WEBPUSH_ALLOWED_HOSTS"):
    """The setting's entries, checked at start-up (config/settings.py): a URL or a stray
    character would otherwise match nothing and refuse every subscription quietly."""
    for entry in entries:
        host, _, port = entry.strip().lower().partition(":")
        name_part = host.removeprefix("*.")
        if not HOST_NAME.fullmatch(name_part) or (port and int_between(port, 1, 65535) is None):
            raise ImproperlyConfigured(
                f"{name} takes host names or *.suffix wildcards, each with an optional :port; got {entry!r}."
            )
    return list(entries)


def _on_list(host, port, hosts):
    for pattern, allowed_port in _entries(tuple(hosts)):
        if port != allowed_port:
            continue
        # A wildcard covers the names below its suffix, not the suffix itself.
        if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


def check_endpoint(url):
    """Refuse (``EndpointRefused``) a push endpoint the worker may not post to; return the
    ``Endpoint`` it will connect to when it may. Reads the settings each call, so tests can
    change them."""
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError for a port that is not a number in 0-65535
    except ValueError:
        raise EndpointRefused("is not a URL", malformed=True) from None
    allow_http = getattr(settings, "WEBPUSH_ALLOW_HTTP", False)
    if parts.scheme != "https" and not (parts.scheme == "http" and allow_http):
        raise EndpointRefused("must be an https URL", malformed=True)
    if parts.username is not None or parts.password is not None:
        raise EndpointRefused("must not carry a user name or password", malformed=True)
    host = parts.hostname or ""
    if port is None:
        port = HTTPS_PORT if parts.scheme == "https" else 80
    # Only what could be an address is parsed as one (a failed ip_address() costs more
    # than the rest of the check); "2130706433" is not one to ip_address, nor a listed name.
    if ":" in host or is_digits(host.replace(".", "")):
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise EndpointRefused("must name a push service's host", malformed=True) from None
        networks = getattr(settings, "WEBPUSH_ALLOWED_NETWORKS", ())
        if any(address in ipaddress.ip_network(cidr) for cidr in networks):
            return Endpoint(parts.scheme, host, port, address=True)
        raise EndpointRefused("must name a push service's host, not an address", malformed=True)
    if not HOST_NAME.fullmatch(host):
        raise EndpointRefused("must name a push service's host", malformed=True)
    if not _on_list(host, port, settings.WEBPUSH_ALLOWED_HOSTS):
        where = host if port == HTTPS_PORT else f"{host}:{port}"
        raise EndpointRefused(
            f"{where} is not a push service Clarion sends to (WEBPUSH_ALLOWED_HOSTS)", malformed=False
        )
    return Endpoint(parts.scheme, host, port)
