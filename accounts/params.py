"""Reading what clients send: numbers out of query strings, form values, JSON and
headers, for every view, task and provider, and the address a request came from.

``str.isdigit()`` is not enough: it is true for "²" and other digit characters that
``int()`` refuses, and a thousand-digit "id" overflows the database's integer. So a
number is ASCII decimal digits only, at most 18 of them (every bigint). This module is
the one place that asks a string whether it is digits (tests/test_number_parsing.py
keeps it so)."""

import ipaddress

from django.conf import settings

MAX_DIGITS = 18  # 10**18 - 1 fits a bigint; int() on a long string costs time, too
LARGEST = 10**MAX_DIGITS - 1


def is_digits(text):
    """Whether ``text`` is a string of ASCII decimal digits ("0".."9"), at least one."""
    return isinstance(text, str) and text.isascii() and text.isdecimal()


def int_between(text, low, high):
    """``text`` as an int from ``low`` to ``high``, or None when it is not one (never
    raises). No sign, no spaces: the caller strips where a form may pad."""
    if is_digits(text) and len(text) <= MAX_DIGITS and low <= int(text) <= high:
        return int(text)
    return None


def positive_int(text):
    """``text`` as a positive int, or None when it is not one (never raises)."""
    return int_between(str(text or ""), 1, LARGEST)


def index(text):
    """``text`` as a position counted from 0 (a posted row or field number), or None."""
    return int_between(text, 0, LARGEST)


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
