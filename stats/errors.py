"""What each error or drop code on a message means, for the Errors tab: the table lives in
``delivery/codes.py`` (one place for meanings: campaigns' test sends read it too)."""

from delivery.codes import MEANINGS, NON_TECHNICAL, meaning, reason

__all__ = ["MEANINGS", "NON_TECHNICAL", "meaning", "reason"]
