"""Saved segments: create, change and delete them. Views, the admin and the API
all come through here, so a saved segment always has valid rules and a fresh reach.

Each change of a saved segment is in the audit log (accounts/audit.py). An ad-hoc
segment (built inside a campaign's Who step) is part of its campaign: its changes are
recorded on the campaign."""

from django.db import router, transaction
from django.db.models.deletion import Collector, ProtectedError

from accounts import audit
from segments.actions.reach import refresh_reach
from segments.models import Segment
from segments.rules import parse

AUDITED = ("name", "description", "rules")


class SegmentInUse(Exception):
    """The segment cannot be deleted: ``users`` (campaigns) still select their audience with it."""

    def __init__(self, segment, users):
        self.users = users
        names = ", ".join(f"“{user}”" for user in users)
        super().__init__(f"“{segment.name}” is used by {names}: choose another segment there first.")


def save_segment(*, name, rules, description="", owner=None, segment=None, user=None, now=None):
    """Create a segment (or change ``segment``) with ``rules``, then count its reach.
    ``user`` made the change (for the audit log; a new segment's ``owner`` by default).

    Raises RuleError, with a message per condition, when the rules are not valid;
    nothing is saved then."""
    parse(rules)
    with transaction.atomic():
        if segment is None:
            segment = Segment(owner=owner)
        created = segment._state.adding
        before = {field: getattr(segment, field) for field in AUDITED}
        segment.name, segment.description, segment.rules = name, description, rules
        segment.save()
        changed = [field for field in AUDITED if before[field] != getattr(segment, field)]
        if created and not segment.is_adhoc:
            audit.record(user or owner, audit.Verb.CREATED, segment)
        elif changed and not segment.is_adhoc:
            audit.record(user, audit.Verb.CHANGED, segment, audit.fields_changed(changed))
    # Counted after the commit: on a large audience the count takes a while, and the
    # segment must not wait for it to exist.
    refresh_reach(segment, now=now)
    return segment


def used_by(segment):
    """What keeps ``segment`` from being deleted (the campaigns using it), sorted by name:
    found the way ``delete()`` finds it, so the two never disagree."""
    collector = Collector(using=router.db_for_write(Segment))
    try:
        collector.collect([segment])
    except ProtectedError as refusal:
        return sorted(refusal.protected_objects, key=str)
    return []


def delete_segment(segment, *, user=None):
    """Delete ``segment``; raises SegmentInUse, deleting nothing, while a campaign uses it."""
    try:
        with transaction.atomic():
            if not segment.is_adhoc:
                audit.record(user, audit.Verb.DELETED, segment)
            segment.delete()
    except ProtectedError as refusal:
        # A campaign may have taken it up since the page was drawn: the database decides.
        raise SegmentInUse(segment, sorted(refusal.protected_objects, key=str)) from None
