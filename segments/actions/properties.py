"""The registry of property names and types that the segment builder offers."""

from datetime import date, datetime

from django.db import transaction

from accounts.params import is_digits
from segments.models import PropertyDefinition

Type = PropertyDefinition.Type
# Definitions this process has already written. The registry only grows, so a name
# seen once needs no query again; a new process relearns it with one insert that
# ignores the conflict.
_known: set[tuple[str, str, str]] = set()


def property_type(value):
    if isinstance(value, bool):
        return Type.BOOLEAN
    if isinstance(value, int | float):
        return Type.NUMBER
    if isinstance(value, list):
        return Type.LIST
    if isinstance(value, str) and _is_iso_date(value):
        return Type.DATE
    return Type.STRING


def _is_iso_date(text):
    if len(text) < 10 or not is_digits(text[:4]) or text[4] != "-":
        return False
    try:
        (date if len(text) == 10 else datetime).fromisoformat(text)
    except ValueError:
        return False
    return True


def _unnoted(scope, event_name, name, value):
    """Whether ``note_properties`` would write this name: a value, under a name not known yet."""
    return value is not None and (scope, event_name, name) not in _known


def new_properties(scope, properties, event_name=""):
    """Whether ``properties`` (a dict, or None) hold a name that ``note_properties`` would write."""
    return any(_unnoted(scope, event_name, name, value) for name, value in (properties or {}).items())


def note_properties(scope, items, event_name=""):
    """Record the names and types in ``items`` (an iterable of property dicts)."""
    seen = {}
    for properties in items:
        for name, value in properties.items():
            if _unnoted(scope, event_name, name, value):
                seen.setdefault(name, property_type(value))
    if seen:
        PropertyDefinition.objects.bulk_create(
            [PropertyDefinition(scope=scope, event_name=event_name, name=n, type=t) for n, t in seen.items()],
            ignore_conflicts=True,
        )
        # Remember them only once they are committed: a batch rolled back after this
        # point must not leave names here that the table lacks.
        names = [(scope, event_name, name) for name in seen]
        transaction.on_commit(lambda: _known.update(names))


def forget_cache():
    """For tests that empty the table under a running process."""
    _known.clear()
