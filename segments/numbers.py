"""The one rule for numbers Clarion stores or compares: finite, and at most ``LIMIT``
either side of zero.

Why 10**15: a number in a property ends up as a double — PostgreSQL compares it as
``double precision``, SQLite as REAL, the SDK's JavaScript has no other number. A double
holds every integer exactly only up to 2**53 ≈ 9.007e15; 1e15 stays well inside that
(so 10**15 + 1 is still told apart from 10**15) and still covers money in cents (ten
trillion in a currency's units). Beyond it, PostgreSQL refuses the cast outright: one
400-digit integer in a property made every segment that compared it fail with "out of
range for type double precision". Ingest (segments/schemas.py), the rule parser, the
segment builder and the When step's filters all check through here; the rule compiler
and matcher treat a stored number outside the range (old data) as no number at all.
"""

import math
import re

LIMIT = 10**15
OUT_OF_RANGE = "must be a number from -1e15 to 1e15 (-1,000,000,000,000,000 to 1,000,000,000,000,000)"
# What people type: 42, -3, 9.99. No exponents, so "1e400", "inf" and "nan" are not
# numbers; ASCII digits only (int() also reads other scripts' digits).
_TYPED = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def is_number(value):
    """A JSON number: int or float, not true/false (which Python counts as ints)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def in_range(value):
    """Whether ``value`` is a finite number within ±LIMIT."""
    if not is_number(value) or (isinstance(value, float) and not math.isfinite(value)):
        return False
    return -LIMIT <= value <= LIMIT


def parse_number(text):
    """The number typed in ``text`` (an int unless it has a decimal point), or None when
    it is not one or is out of range (``number_hint`` says which to the person)."""
    if not isinstance(text, str) or len(text) > 40 or not _TYPED.fullmatch(text.strip()):
        return None
    text = text.strip()
    number = float(text) if "." in text else int(text)
    return number if in_range(number) else None


def number_hint(text):
    """What to tell someone whose ``text`` is not a number ``parse_number`` takes."""
    if isinstance(text, str) and _TYPED.fullmatch(text.strip()):
        return "enter one from -1e15 to 1e15"
    return "enter one such as 42 or 9.99"
