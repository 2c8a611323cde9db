"""The audit log: who created, changed, scheduled, paused, resumed, stopped, archived or
deleted a campaign, segment, API key, site, credentials or role, and when.

Each change already goes through one action (campaigns/actions/lifecycle.py,
segments/actions/, delivery/actions/settings.py, accounts/actions.py); that action
calls ``record`` inside its own transaction, so an entry exists
exactly when its change does. Entries are never edited: the admin shows them read-only.
"""

from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from accounts.models import AuditEntry

Verb = AuditEntry.Verb
# What an object page shows; the admin has them all.
LATEST = 20


def record(actor, verb, obj, detail="", *, actor_name=None):
    """Write one entry: ``actor`` (a user, or None for Clarion itself) did ``verb`` to
    ``obj`` (call it before deleting ``obj``, while it still has its id). ``detail`` says
    what changed — field names and statuses, never a secret's value. ``actor_name`` names
    an actor that is not a user (an API key)."""
    if not transaction.get_connection().in_atomic_block:
        # Outside a transaction the change could commit without its entry, or the other way.
        raise RuntimeError("audit.record() belongs inside the transaction of the change it records")
    actor = actor if getattr(actor, "pk", None) else None
    if actor_name is None:
        actor_name = actor.get_username() if actor else ""
    return AuditEntry.objects.create(
        actor=actor,
        actor_name=actor_name[:150],
        verb=verb,
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        object_label=str(obj)[:200],
        detail=detail[:500],
    )


def status_change(before, after):
    """The detail of a status change, e.g. "status draft → scheduled"."""
    return f"status {before} → {after}"


def fields_changed(names, labels=None):
    """The detail of a change to some fields, by their labels: "changed name, rules"."""
    labels = labels or {}
    return "changed " + ", ".join(str(labels.get(name, name.replace("_", " "))) for name in names)


def history(obj, *, limit=LATEST):
    """The latest entries about ``obj``, newest first."""
    content_type = ContentType.objects.get_for_model(obj)
    return list(AuditEntry.objects.filter(content_type=content_type, object_id=obj.pk)[:limit])


def history_of(*models, limit=LATEST):
    """The latest entries about any object of ``models`` (the Settings page's keys, sites,
    credentials and roles), newest first."""
    content_types = ContentType.objects.get_for_models(*models).values()
    return list(AuditEntry.objects.filter(content_type__in=content_types).select_related("content_type")[:limit])
