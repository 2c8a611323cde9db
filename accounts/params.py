"""Reading what clients send: ids out of query strings and form values, for every
dashboard view, and the address a request came from.

``str.isdigit()`` is not enough: it is true for "²" and other digit characters that
``int()`` refuses, and a thousand-digit "id" overflows the database's integer. So an id
is ASCII decimal digits only, at most 18 of them (every bigint)."""

import ipaddress

from django.conf import settings


def positive_int(text):
    """``text`` as a positive int, or None when it is not one (never raises)."""
    text = str(text or "")
    if text.isascii() and text.isdecimal() and len(text) < 19 and int(text) > 0:
        return int(text)
    return None


def client_ip(request):
    """The address a request came from: the last X-Forwarded-For entry behind our own
    TLS proxy (BEHIND_TLS_PROXY), else the socket's. Anything before the last entry
    came from the client and could be forged; an entry that is not an address (a
    misconfigured proxy) counts as the proxy's own, never as text in a database
    address column."""
    if settings.BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR", "")
