"""The one rule for numbers Clarion takes from clients and marketers: finite, and at most
``LIMIT`` either side of zero.

Why 10**15: a number in a property ends up as a double somewhere — SQLite compares it as
REAL, the SDK's JavaScript and most spreadsheets have no other number, and PostgreSQL
refused to cast anything bigger than about 1e308 ("out of range for type double
precision": one 400-digit integer stopped every segment comparing its property). A
double holds every integer exactly only up to 2**53 ≈ 9.007e15; 1e15 stays well inside
that (10**15 + 1 is still told apart from 10**15) and still covers money in cents (ten
trillion in a currency's units).

Ingest (segments/schemas.py: the API, the web SDK and CSV import), the rule parser, the
segment builder, the When and Who steps' event filters and conversion goals all check
through here. Rows stored before the rule may hold bigger numbers: the rule compiler
reads JSON numbers as PostgreSQL numeric (segments/rules/sql.py), so they compare as the
numbers they are, as in the matcher, and never fail a query.
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
