"""Saved segments: create, change and delete them. Views, the admin and the API
all come through here, so a saved segment always has valid rules and a fresh reach."""

from django.db import transaction

from segments.actions.reach import refresh_reach
from segments.models import Segment
from segments.rules import parse


def save_segment(*, name, rules, description="", owner=None, segment=None, now=None):
    """Create a segment (or change ``segment``) with ``rules``, then count its reach.

    Raises RuleError, with a message per condition, when the rules are not valid;
    nothing is saved then."""
    parse(rules)
    with transaction.atomic():
        if segment is None:
            segment = Segment(owner=owner)
        segment.name, segment.description, segment.rules = name, description, rules
        segment.save()
    # Counted after the commit: on a large audience the count takes a while, and the
    # segment must not wait for it to exist.
    refresh_reach(segment, now=now)
    return segment


def delete_segment(segment):
    segment.delete()
