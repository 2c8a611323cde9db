"""Estimated reach of a rule tree, notes on its conditions, and value suggestions
for the segment builder."""

from dataclasses import dataclass

from django.db.models import Avg, Count, Exists, OuterRef, Q
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from segments.models import Device, Event, Profile, PropertyDefinition, Segment
from segments.rules import tree as t
from segments.rules.compiler import profiles, reachable_devices

CHANNELS = ("web", "android", "ios")
# Value suggestions look at the newest rows only: enough to suggest from, and a
# bounded read on a table of millions.
SUGGESTION_SAMPLE = 50_000


@dataclass(frozen=True)
class Reach:
    qualified: int
    reachable: dict  # channel ("web", "android", "ios", "any") -> profiles reachable there


def estimate_reach(tree, *, now=None):
    """How many profiles ``tree`` selects, and how many of them push can reach per
    channel — in one query."""
    now = now or timezone.now()
    counts = {"qualified": Count("pk")}
    for channel in (*CHANNELS, "any"):
        on_channel = Exists(reachable_devices(channel).filter(profile=OuterRef("pk")))
        counts[channel] = Count("pk", filter=Q(on_channel))
    result = profiles(tree, now=now).aggregate(**counts)
    return Reach(result.pop("qualified"), result)


def refresh_reach(segment, *, now=None):
    """Estimate a saved segment's reach and keep it on the row for lists."""
    now = now or timezone.now()
    reach = estimate_reach(t.parse(segment.rules), now=now)
    Segment.objects.filter(pk=segment.pk).update(
        last_reach=reach.qualified, last_reachable=reach.reachable, last_computed_at=now
    )
    segment.last_reach, segment.last_reachable, segment.last_computed_at = reach.qualified, reach.reachable, now
    return reach


def rule_notes(tree, path=""):
    """{path: note} for conditions that are valid but may surprise: a property or
    event no profile has yet (allowed, so a segment can be ready before the data)."""
    known_profile = set(
        PropertyDefinition.objects.filter(scope=PropertyDefinition.Scope.PROFILE).values_list("name", flat=True)
    )
    notes = {}
    _notes(tree, path, known_profile, notes)
    return notes


def _notes(group, path, known_profile, notes):
    for index, node in enumerate(group.conditions):
        where = f"{path}.{index}" if path else str(index)
        if isinstance(node, t.Group):
            _notes(node, where, known_profile, notes)
        elif isinstance(node, t.PropertyCondition) and node.comparison.name not in known_profile:
            notes[where] = (
                f"No profile has {node.comparison.name!r} yet; the condition is kept and will apply once one does."
            )
        elif (
            isinstance(node, t.EventCondition | t.LiveEventCondition)
            and not Event.objects.filter(name=node.event).exists()
        ):
            notes[where] = f"No {node.event!r} event has been recorded yet."


def suggest_values(name, *, event=None, prefix="", limit=20):
    """The most common values of a profile property (or of an event's property)."""
    rows = Event.objects.filter(name=event).order_by("-id") if event else Profile.objects.order_by("-id")
    sample = rows.model.objects.filter(pk__in=rows.values("pk")[:SUGGESTION_SAMPLE])
    values = (
        sample.annotate(value=KeyTextTransform(name, "properties"))
        .exclude(value__isnull=True)
        .filter(value__istartswith=prefix)
        .values("value")
        .annotate(n=Count("pk"))
        .order_by("-n", "value")[:limit]
    )
    return [row["value"] for row in values]


def suggest_places(prefix, *, limit=10):
    """Cities in the data that start with ``prefix``, with their mean position."""
    return list(
        Profile.objects.filter(city__istartswith=prefix, latitude__isnull=False, longitude__isnull=False)
        .values("city", "region", "country")
        .annotate(lat=Avg("latitude"), lon=Avg("longitude"), n=Count("pk"))
        .order_by("-n")[:limit]
    )


def suggest_column(field, *, prefix="", limit=20):
    """Common values of a plain column: country, region, city (profiles) or an app
    field (devices)."""
    model = Profile if field in t.GEO_FIELDS else Device
    return list(
        model.objects.filter(**{f"{field}__istartswith": prefix})
        .exclude(**{field: ""})
        .values_list(field, flat=True)
        .annotate(n=Count("pk"))
        .order_by("-n")[:limit]
    )
