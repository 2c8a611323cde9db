"""Reading ids out of query strings and form values, for every dashboard view.

``str.isdigit()`` is not enough: it is true for "²" and other digit characters that
``int()`` refuses, and a thousand-digit "id" overflows the database's integer. So an id
is ASCII decimal digits only, at most 18 of them (every bigint)."""


def positive_int(text):
    """``text`` as a positive int, or None when it is not one (never raises)."""
    text = str(text or "")
    if text.isascii() and text.isdecimal() and len(text) < 19 and int(text) > 0:
        return int(text)
    return None
