"""Estimated reach of a rule tree, notes on its conditions, and value suggestions
for the segment builder."""

from collections import Counter
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Avg, Case, Count, FilteredRelation, Max, Q, When
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from segments.models import Device, Event, Profile, PropertyDefinition, Segment
from segments.rules import tree as t
from segments.rules.compiler import listed, profiles

CHANNELS = ("web", "android", "ios")
# Value suggestions look at the newest rows only: enough to suggest from, and a
# bounded read on a table of millions.
SUGGESTION_SAMPLE = 50_000
CATEGORY_SAMPLE = 5_000


@dataclass(frozen=True)
class Reach:
    qualified: int
    reachable: dict  # channel ("web", "android", "ios", "any") -> profiles reachable there


def estimate_reach(tree, *, now=None, devices="reachable"):
    """How many profiles ``tree`` selects, and how many of them push can reach per
    channel — in one query. ``devices="ask"`` counts, in ``Reach.reachable``, those with a
    device a soft-onboarding banner can ask instead (``_askable``: web, at Ask)."""
    now = now or timezone.now()
    ids = listed(tree, now=now) if tree.match == "any" else None
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # PostgreSQL compiles a plan it costs above jit_above_cost to machine code
            # first, and optimises it above jit_optimize_above_cost: a reach count over a
            # million profiles costs that on paper (the planner charges a subquery per
            # profile as if it ran for all of them) and the compiling took 2.4 s of the
            # compound segment's 2.7 s, 0.4 s of any_mixed's 1.3 s (bench/reach.py, JIT
            # in the plans), for a query that runs in tenths of a second interpreted.
            # Parallel plans are costed cheaper than PostgreSQL's defaults (setup 1000, 0.1 a
            # row) so a count over a million profiles takes two workers for its scans, sorts
            # and sums: the defaults kept every reach count on one core, and any_mixed and
            # carts_2x took 1.21 and 1.06 s serial against 1.04 and 0.92 s parallel, no kind
            # slower (bench/README.md, reach.py, fifth pass).
            # set_config(…, true): for this transaction only (a caller's, if inside one).
            cursor.execute(
                "SELECT set_config('jit', 'off', true), set_config('parallel_setup_cost', '100', true),"
                " set_config('parallel_tuple_cost', '0.01', true)"
            )
        if ids is not None:
            return _count_listed(cursor, ids, devices)
        return _count_profiles(tree, now, devices)


def _count_profiles(tree, now, devices):
    # One row per qualified profile with a flag per channel, from a LEFT JOIN on its
    # reachable devices, then one row of counts. The planner merges that join with
    # segments_device_reachable_idx in profile order, or probes the index per
    # profile for a small segment. An EXISTS per channel instead ran four subqueries
    # for every qualified profile: 4 s for a segment of 850,000 (bench/reach.py).
    flags = {
        f"on_{channel}": Max(Case(When(reachable_device__platform=channel, then=1), default=0)) for channel in CHANNELS
    }
    flags["on_any"] = Max(Case(When(reachable_device__platform__isnull=False, then=1), default=0))
    per_profile = (
        profiles(tree, now=now)
        .alias(reachable_device=FilteredRelation("devices", condition=DEVICES[devices]("devices")))
        .values("pk")
        .annotate(**flags)
    )
    counts = {channel: Count("pk", filter=Q(**{f"on_{channel}": 1})) for channel in (*CHANNELS, "any")}
    result = per_profile.aggregate(qualified=Count("pk"), **counts)
    return Reach(result.pop("qualified"), result)


def _count_listed(cursor, ids, devices):
    """estimate_reach for an any-of group that compiles to one list of profile ids
    (rules.compiler.listed): the same counts, read from the list and the devices alone.
    Every id listed is a profile's, so joining the profile table adds nothing but its
    cost: 1.03 s against 1.15 s for bench/reach.py's any_mixed (medians of 5,
    alternated, load 3-4, 2026-12-07)."""
    on = Device.objects.filter(DEVICES[devices]()).values("profile_id", "platform").order_by()
    devices_sql, devices_params = on.query.sql_with_params()
    flags = ", ".join(
        [f"max(CASE WHEN d.platform = %s THEN 1 ELSE 0 END) AS on_{channel}" for channel in CHANNELS]
        + ["max(CASE WHEN d.platform IS NULL THEN 0 ELSE 1 END) AS on_any"]
    )
    sums = ", ".join(f"coalesce(sum(on_{channel}), 0)" for channel in (*CHANNELS, "any"))
    cursor.execute(
        f"WITH listed(id) AS ({ids.sql})"  # noqa: S608 (compiled SQL, bound params)
        f" SELECT count(*), {sums} FROM (SELECT listed.id, {flags} FROM listed"
        f" LEFT JOIN ({devices_sql}) AS d ON d.profile_id = listed.id GROUP BY listed.id) AS flagged",
        [*ids.params, *CHANNELS, *devices_params],
    )
    qualified, *reachable = cursor.fetchone()
    return Reach(qualified, dict(zip((*CHANNELS, "any"), reachable, strict=True)))


def _reachable(path=""):
    """Device.reachable as a condition on the devices at ``path`` (on Device itself when
    empty). Written with "> ''" rather than "<> ''" (the same for text) so that, through a
    LEFT JOIN, Django adds no "OR … IS NULL" and PostgreSQL can prove the partial index
    segments_device_reachable_idx applies; the index's condition is this one."""
    at = f"{path}__" if path else ""
    web = Q(**{f"{at}platform": Device.Platform.WEB, f"{at}endpoint__gt": ""})
    app = Q(**{f"{at}platform__in": [Device.Platform.ANDROID, Device.Platform.IOS], f"{at}token__gt": ""})
    return (web | app) & Q(**{f"{at}push_status": Device.PushStatus.ALLOWED, f"{at}retired_at__isnull": True})


def _askable(path=""):
    """A device a Push permission request's banner can ask (seed 002: "Push status ... set
    to Ask, this means that the browser is supporting push permissions and we didn't ask
    this user yet"): a browser at Ask, which a browser without push never is (the SDK
    reports it Unsupported). campaigns/onboarding.py gives the banner to the same devices."""
    at = f"{path}__" if path else ""
    return Q(
        **{
            f"{at}platform": Device.Platform.WEB,
            f"{at}push_status": Device.PushStatus.ASK,
            f"{at}retired_at__isnull": True,
        }
    )


# What estimate_reach counts a person by: a device push reaches, or one the banner can ask.
DEVICES = {"reachable": _reachable, "ask": _askable}


def reachable_devices():
    """How many devices push can reach now, on every channel: the messages a run to
    everyone would send (one per device)."""
    return Device.objects.filter(_reachable()).count()


def refresh_reach(segment, *, now=None):
    """Estimate a saved segment's reach and keep it on the row for lists."""
    now = now or timezone.now()
    reach = estimate_reach(t.parse(segment.rules), now=now)
    Segment.objects.filter(pk=segment.pk).update(
        last_reach=reach.qualified, last_reachable=reach.reachable, last_computed_at=now
    )
    segment.last_reach, segment.last_reachable, segment.last_computed_at = reach.qualified, reach.reachable, now
    return reach


# A custom property named like a profile field (the marketer who types "language"
# means the field): {the name, lower case, "_" as a space: the menu's entry}.
_BUILT_IN = {
    **{label.lower(): label for label in t.FIELD_LABELS.values()},
    **{name.replace("_", " "): label for name, label in t.FIELD_LABELS.items()},
    **dict.fromkeys(t.GEO_FIELDS, "Country, region or city"),
    "age": "Age",
    "gender": "Gender",
}


def rule_notes(tree, path=""):
    """{path: note} for conditions that are valid but may surprise: a property,
    event or event property nobody has yet (allowed, so a segment can be ready
    before the data)."""
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
            built_in = _BUILT_IN.get(node.comparison.name.strip().lower().replace("_", " "))
            if built_in:
                notes[where] += f" {built_in} is a profile field of its own: choose {built_in} in the condition menu."
        elif isinstance(node, t.EventCondition | t.LiveEventCondition):
            if not Event.objects.filter(name=node.event).exists():
                notes[where] = f"No {node.event!r} event has been recorded yet."
                continue
            known = set(
                PropertyDefinition.objects.filter(
                    scope=PropertyDefinition.Scope.EVENT, event_name=node.event
                ).values_list("name", flat=True)
            )
            unknown = [f.name for f in node.filters if f.name not in known]
            if unknown:
                notes[where] = f"No {node.event!r} event has had {unknown[0]!r} yet; the filter applies once one does."


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


def suggest_categories(prefix, *, limit=20):
    """Push categories devices chose lately, those most chosen first: read in Python
    from the newest devices that chose any (a site offers a handful of categories, so
    a few thousand devices name them all, in a bounded read of a big table)."""
    chosen = Device.objects.exclude(categories=[]).order_by("-id").values_list("categories", flat=True)
    found = Counter(
        category
        for categories in chosen[:CATEGORY_SAMPLE]
        if isinstance(categories, list)
        for category in categories
        if isinstance(category, str) and category.lower().startswith(prefix.lower())
    )
    return [category for category, _ in sorted(found.items(), key=lambda item: (-item[1], item[0]))[:limit]]


def suggest_places(prefix, *, limit=10):
    """Cities in the data that start with ``prefix``, with their mean position."""
    return list(
        Profile.objects.filter(city__istartswith=prefix, latitude__isnull=False, longitude__isnull=False)
        .values("city", "region", "country")
        .annotate(lat=Avg("latitude"), lon=Avg("longitude"), n=Count("pk"))
        .order_by("-n")[:limit]
    )


def suggest_column(field, *, prefix="", limit=20):
    """Common values of a plain column: country, region, city, language, time zone
    (profiles) or an app field (devices)."""
    model = Device if field in t.APP_FIELDS else Profile
    found = list(
        model.objects.filter(**{f"{field}__istartswith": prefix})
        .exclude(**{field: ""})
        .values_list(field, flat=True)
        .annotate(n=Count("pk"))
        .order_by("-n")[:limit]
    )
    if field == "language":
        # "en" selects en-GB and en-US too (tree.language_matches): offer it first.
        found = list(dict.fromkeys([*(tag.split("-")[0].lower() for tag in found), *found]))[:limit]
    return found
