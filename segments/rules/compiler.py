"""One rule tree → one query over profiles.

Every condition compiles to a predicate that is never NULL (missing values count
as "no"), so "none of" and "did not" can negate it safely: SQL's NOT NULL is
NULL, which would silently drop people from "not equals" and friends.
"""

import json
from functools import reduce
from math import radians
from operator import and_, or_

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    Expression,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import ASin, Coalesce, Concat, Cos, Least, Lower, Power, Radians, Sin, Sqrt, Substr
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    IStartsWith,
    LessThan,
    LessThanOrEqual,
    StartsWith,
)

from segments.models import Device, Event, Profile
from segments.rules import dates, rolled
from segments.rules import tree as t
from segments.rules.dates import age_bounds
from segments.rules.sql import JsonListHolds, JsonValue, Number
from segments.rules.tree import as_bound, as_text

EARTH_RADIUS_KM = 6371.0088
EVERYONE = Q(pk__isnull=False)


def compile_rules(group, *, now, audience=False):
    """The profiles that ``group`` selects, as a Q for Profile.objects.filter().
    ``audience``: the query reads the whole audience (a reach count, a run's start), not
    a few given profiles; an any-of group at the root is then one list of ids (_listed)."""
    if audience and group.match != "all":
        return _listed(group, now)
    return _group(group, now)


def profiles(group, *, now):
    """The profiles ``group`` selects: the whole audience, to count or to send to."""
    return Profile.objects.filter(compile_rules(group, now=now, audience=True))


def _group(group, now):
    # Beside other conditions that must all hold, a count of events is taken per
    # profile they leave (_counted); alone, or as one of several alternatives, once
    # for the whole window.
    narrowed = group.match == "all" and len(group.conditions) > 1
    parts = [
        _event(child, now, narrowed=True) if narrowed and _is_count(child) else _node(child, now)
        for child in group.conditions
    ]
    if not parts:
        return EVERYONE
    if group.match == "all":
        return reduce(and_, parts)
    return _either(group.match, reduce(or_, parts))


def _either(match, found):
    return found if match == "any" else ~found


def _listed(group, now):
    """An any-of (or none-of) group over the whole audience as one list of ids (_union),
    else as an OR; each alternative compiled once."""
    parts = [_node(child, now) for child in group.conditions]
    if not parts:
        return EVERYONE
    ids = _union(parts)
    return _either(group.match, reduce(or_, parts) if ids is None else Q(pk__in=ids))


def listed(group, *, now):
    """An any-of group's profiles as one list of ids (_union), or None."""
    return _union([_node(child, now) for child in group.conditions])


def _union(parts):
    """The profiles compiled alternatives (``parts``) select, as one list of profile ids
    (a RawSQL UNION), or None where that is no help: the ids of each
    alternative that is a list of another table's ids anyway (event counts, app fields,
    push status: _ids), UNION the profiles whose own row passes one of the others.
    Written as an OR, PostgreSQL reads every profile in id order and tests each
    alternative on it, probing two hashed lists per row: 2.5 s for bench/reach.py's
    any_mixed (a property, a count of events, an app version) on a million profiles,
    against 1.2 s as one UNION (both under load 5, 2026-12-07). For a few given
    profiles (campaigns/live/requested.py) the OR stays cheaper: each alternative is
    tested on those rows only. Every id listed is a profile's: devices and events have
    foreign keys, and the roll-up deletes a row whose count reaches 0."""
    lists, rows = [], []
    for found in parts:
        ids = _ids(found)
        if ids is None:
            rows.append(found)
        else:
            lists.append(ids)
    if not lists or len(parts) < 2:
        return None
    if rows:
        lists.insert(0, Profile.objects.filter(reduce(or_, rows)).values("pk"))
    sql, params = [], []
    for ids in lists:
        text, values = (ids.sql, ids.params) if isinstance(ids, RawSQL) else ids.order_by().query.sql_with_params()
        sql.append(text)
        params.extend(values)
    return RawSQL(" UNION ".join(sql), params)  # noqa: S611 (compiled SQL, bound params)


def _ids(found):
    """The list of profile ids a compiled condition tests membership of, when it is
    only that (``Q(pk__in=ids)`` or ``Q(Owns(devices))``, not negated): a RawSQL or a
    one-column QuerySet."""
    if found.negated or found.connector != Q.AND or len(found.children) != 1:
        return None
    child = found.children[0]
    if isinstance(child, Owns):
        return child.owners
    if isinstance(child, tuple) and child[0] == "pk__in" and isinstance(child[1], RawSQL | QuerySet):
        return child[1]
    return None


def _without(found):
    """``~found``; a list of profile ids (``_ids``) negated as ``Absent``."""
    ids = _ids(found)
    if ids is None or isinstance(found.children[0], Owns):  # Owns is an EXISTS: NOT EXISTS already
        return ~found
    return Q(Absent(ids))


class Absent(Expression):
    """The profile is not in ``ids`` (a RawSQL or one-column QuerySet of profile ids).

    On PostgreSQL ``NOT EXISTS``, which it plans as an anti-join (a merge of the sorted
    lists, or a hash, in parallel workers too), where ``NOT (id IN (…))`` is a hashed
    sub-plan probed per profile and keeps the whole query on one core: "did not do
    Charged in the last 30 days" on a million profiles, 0.93-1.06 s → 0.58-0.60 s
    (bench/README.md, reach.py, fifth pass). The two agree: the ids are never NULL
    (foreign keys, the roll-up's profile). Elsewhere ``NOT IN``."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, ids, column="pk"):
        super().__init__()
        self.ids = ids
        self.column = F(column) if isinstance(column, str) else column

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        [self.column] = exprs

    def _listed_sql(self):
        if isinstance(self.ids, RawSQL):
            return self.ids.sql, list(self.ids.params)
        sql, params = self.ids.order_by().query.sql_with_params()
        return sql, list(params)

    def as_postgresql(self, compiler, connection):
        column, column_params = compiler.compile(self.column)
        sql, params = self._listed_sql()
        return (
            f"NOT EXISTS (SELECT 1 FROM ({sql}) AS absent(id) WHERE absent.id = {column})",  # noqa: S608 (compiled SQL, bound params)
            [*params, *column_params],
        )

    def as_sql(self, compiler, connection):
        column, column_params = compiler.compile(self.column)
        sql, params = self._listed_sql()
        return f"NOT ({column} IN ({sql}))", [*column_params, *params]


def _node(node, now):
    if isinstance(node, t.Group):
        return _group(node, now)
    return COMPILERS[type(node)](node, now)


def _truth(expression):
    """A boolean expression that is false where it would be NULL."""
    return Q(Coalesce(expression, Value(False)))


# Properties in a JSON column: a profile's custom properties, an event's properties.


def json_comparison(column, c):
    if c.op == "is_set":
        return Q(JsonValue(column, c.name, "present"))
    if c.op == "is_not_set":
        return ~Q(JsonValue(column, c.name, "present"))
    if c.op == "equals":
        return _json_equals(column, c.name, c.value)
    if c.op == "not_equals":
        return ~_json_equals(column, c.name, c.value)
    if c.op == "in":
        return reduce(or_, [_json_equals(column, c.name, value) for value in c.value])
    if c.op == "contains":
        return _truth(IContains(JsonValue(column, c.name, "text"), c.value))
    if c.op == "starts_with":
        return _truth(IStartsWith(JsonValue(column, c.name, "text"), c.value))
    if c.op == "between":
        low, high = c.value
        value = _ordered(column, c.name, low)
        return _truth(GreaterThanOrEqual(value, _bound(low))) & _truth(LessThanOrEqual(value, _bound(high)))
    lookup = GreaterThan if c.op == "greater" else LessThan
    return _truth(lookup(_ordered(column, c.name, c.value), _bound(c.value)))


def _json_equals(column, name, value):
    return Q(JsonEquals(column, name, value))


class JsonEquals(Expression):
    """True where the JSON object in ``column`` holds ``value`` (text, a number or
    true/false) at ``name``; never NULL.

    On PostgreSQL this is containment, ``column @> '{"name": value}'``: the same
    answer as comparing the typed read (an array holding the value does not count,
    numbers compare as numbers), at a fraction of its cost per row, and estimated
    from the column's statistics rather than guessed, which steers the plan
    (bench/reach.py). Elsewhere it is the typed read."""

    output_field = BooleanField()

    def __init__(self, column, name, value):
        super().__init__()
        self.column = F(column) if isinstance(column, str) else column
        self.wanted = json.dumps({name: value})
        kind = "boolean" if isinstance(value, bool) else "number" if isinstance(value, int | float) else "text"
        self.typed = Coalesce(Exact(JsonValue(column, name, kind), value), Value(False))

    def get_source_expressions(self):
        return [self.column, self.typed]

    def set_source_expressions(self, exprs):
        self.column, self.typed = exprs

    def as_postgresql(self, compiler, connection):
        column_sql, params = compiler.compile(self.column)
        return f"({column_sql} @> %s::jsonb)", [*params, self.wanted]

    def as_sql(self, compiler, connection):
        return compiler.compile(self.typed)


def _ordered(column, name, bound):
    """Numbers compare as numbers; dates as the first ten characters of text
    (YYYY-MM-DD), which orders ISO dates and date-times correctly."""
    if isinstance(bound, int | float):
        return JsonValue(column, name, "number")
    return Substr(JsonValue(column, name, "text"), 1, 10)


def _bound(value):
    return Number(value) if isinstance(value, int | float) else as_bound(value)


# Plain text columns (geography, app fields): never NULL in our tables.


def column_comparison(column, c):
    value = c.value
    if c.op == "is_set":
        return ~Q(**{column: ""})
    if c.op == "is_not_set":
        return Q(**{column: ""})
    if c.op == "in":
        return Q(**{f"{column}__in": [as_text(v) for v in value]})
    if c.op == "contains":
        return Q(**{f"{column}__icontains": value})
    if c.op == "starts_with":
        return Q(**{f"{column}__{_prefix_lookup(value)}": value})
    if c.op == "not_equals":
        # A field nobody filled in (a browser has no app version) is unknown, not different.
        return ~Q(**{column: ""}) & ~Q(**{column: as_text(value)})
    return Q(**{column: as_text(value)})


def _prefix_lookup(prefix):
    """A prefix without letters ("4.5", "17.") reads the same with case or without, and
    as LIKE '4.5%' it is a range of segments_device_app_prefix_idx; UPPER(…) LIKE
    UPPER('4.5%'), which ignoring case needs for letters, reads every device: 1.25 s
    for "app version starts with" on 1.5 million devices (bench/reach.py)."""
    return "startswith" if prefix.isascii() and not any(ch.isalpha() for ch in prefix) else "istartswith"


# One function per kind of condition.


def _property(c, now):
    return json_comparison("properties", c.comparison)


def _age(c, now):
    earliest, latest = age_bounds(now.date(), c.low, c.high)
    by_birth = Q(date_of_birth__isnull=False, date_of_birth__gt=earliest, date_of_birth__lte=latest)
    by_age = Q(date_of_birth__isnull=True, age__isnull=False, age__gte=c.low, age__lte=c.high)
    return by_birth | by_age


def _gender(c, now):
    return Q(gender__in=c.values)


def _geo(c, now):
    found = Q(**{f"{c.field}__in": c.values})
    return ~found if c.negate else found


def _radius(c, now):
    return reduce(or_, [_within(place, c.km) for place in c.places])


def _within(place, km):
    """Great-circle (haversine) distance from the profile's point to ``place``."""
    lat, lon = Radians("latitude"), Radians("longitude")
    place_lat, place_lon = Value(radians(place.lat)), Value(radians(place.lon))
    half_chord = Power(Sin((lat - place_lat) / 2), 2) + Cos(place_lat) * Cos(lat) * Power(Sin((lon - place_lon) / 2), 2)
    # Rounding can push the chord a hair past 1, where asin is undefined.
    distance = 2 * EARTH_RADIUS_KM * ASin(Sqrt(Least(half_chord, Value(1.0))))
    return _truth(LessThanOrEqual(distance, km))


def reachable_devices(channel="any"):
    """Devices push can reach: Allowed, not retired, with a subscription or token."""
    web = Q(platform=Device.Platform.WEB) & ~Q(endpoint="")
    app = Q(platform__in=[Device.Platform.ANDROID, Device.Platform.IOS]) & ~Q(token="")
    devices = Device.objects.filter(web | app, push_status=Device.PushStatus.ALLOWED, retired_at__isnull=True)
    return devices if channel == "any" else devices.filter(platform=channel)


class Owns(Exists):
    """The profile has one of ``devices`` (EXISTS, probed per profile); ``owners`` is
    the same as a list of profile ids, which _listed reads."""

    def __init__(self, devices):
        super().__init__(devices.filter(profile=OuterRef("pk")))
        self.owners = devices.values("profile_id")


def _reachability(c, now):
    if c.check == "push_reachable":
        found = Q(Owns(reachable_devices(c.channel)))
    elif c.check in ("has_email", "has_phone"):
        found = ~Q(**{c.check.removeprefix("has_"): ""})
    else:
        found = Q(**{c.check: True})
    return found if c.value else ~found


def _push_status(c, now):
    devices = Device.objects.filter(
        platform__in=t.PUSH_CHANNELS[c.channel], push_status__in=c.values, retired_at__isnull=True
    )
    return Q(Owns(devices))


def _push_category(c, now):
    chosen = reduce(or_, [Q(JsonListHolds("categories", category)) for category in c.categories])
    devices = reachable_devices().filter(chosen, platform__in=t.PUSH_CHANNELS[c.channel])
    return Q(Owns(devices))


def _field(c, now):
    comparison, name = c.comparison, c.comparison.name
    if c.type == "flag":
        return Q(**{name: comparison.value})  # "is a test profile": segments_profile_test_idx
    if c.type in ("date", "time"):
        if comparison.op in t.SET_OPS:
            found = Q(**{f"{name}__isnull": False})
            return found if comparison.op == "is_set" else ~found
        # Plain range lookups on the column: "last seen in the last 7 days" can use
        # its index (segments_pr_last_se_8ceed7_idx); the others read the profile
        # rows, as a reach count does anyway. The explicit IS NOT NULL keeps a
        # missing date a "no" under "none of".
        start, end = dates.field_bounds(comparison, now, timestamps=c.type == "time")
        found = Q(**{f"{name}__isnull": False})
        if start is not None:
            found &= Q(**{f"{name}__gte": start})
        if end is not None:
            found &= Q(**{f"{name}__lt": end})
        return found
    if c.type == "language" and comparison.op in ("equals", "not_equals", "in"):
        wanted = comparison.value if comparison.op == "in" else (comparison.value,)
        found = reduce(or_, [_language(value) for value in wanted])
        return ~Q(**{name: ""}) & ~found if comparison.op == "not_equals" else found
    return column_comparison(name, comparison)


def _language(wanted):
    """tree.language_matches in SQL, as one LIKE: "en" selects a tag when the tag
    with a "-" added starts with "en-" ("en-", "en-gb-"), case folded on both sides.
    One function call and one LIKE per row: 298 ms over 500,000 profiles against
    395 ms for UPPER(tag) = 'EN' OR UPPER(tag) LIKE 'EN-%' (best of 3, load 10,
    2026-12-07). A range is letters, digits and "-" (tree.py), and Django escapes
    LIKE's wildcards anyway."""
    return Q(StartsWith(Concat(Lower("language"), Value("-")), f"{wanted.lower()}-"))


def _app_field(c, now):
    comparison = c.comparison
    return Q(Owns(Device.objects.filter(column_comparison(comparison.name, comparison))))


def _is_count(node):
    return isinstance(node, t.EventCondition) and node.occurrence == "any"


def _event(c, now, *, narrowed=False):
    matching = Event.objects.filter(name=c.event)
    for comparison in c.filters:
        matching = matching.filter(json_comparison("properties", comparison))
    start, end = dates.window_bounds(c.window, now)
    if c.occurrence != "any":
        edge = (Min if c.occurrence == "first" else Max)("occurred_at")
        per_profile = matching.values("profile").annotate(edge=edge)
        if start is not None:
            per_profile = per_profile.filter(edge__gte=start)
        if end is not None:
            per_profile = per_profile.filter(edge__lt=end)
        found = Q(pk__in=per_profile.values("profile"))
    elif not c.filters and (hint := rolled.available()) and (days := rolled.whole_days(start, end)):
        found = _counted_rolled(c, (c.event, start, end, days, hint), narrowed=narrowed)
    else:
        if start is not None:
            matching = matching.filter(occurred_at__gte=start)
        if end is not None:
            matching = matching.filter(occurred_at__lt=end)
        found = _counted(matching, c.count_op, c.count, narrowed=narrowed)
    return found if c.did else _without(found)


def _counted_rolled(c, window, *, narrowed):
    """_counted's answers from the events roll-up (rules/rolled.py): a count without
    filters on the event's properties, over a window with at least one whole UTC day,
    once the roll-up task has run (PostgreSQL). As in _counted, N ≥ 2 beside other
    conditions is counted per remaining profile; every other form is one hashed list
    of profile ids."""

    def counted(having=None):
        return Q(pk__in=rolled.profiles_counted(*window, having))

    if narrowed and c.count >= 2 and c.count_op in ("at_least", "exactly"):
        compare = GreaterThanOrEqual if c.count_op == "at_least" else Exact
        return Q(compare(rolled.ProfileCount(*window), c.count))
    if c.count == 0:
        return _without(counted())
    if c.count_op == "at_least":
        return counted() if c.count == 1 else counted((">=", c.count))
    if c.count_op == "at_most":
        return _without(counted((">", c.count)))
    return counted(("=", c.count))


def _counted(events, op, times, *, narrowed=False):
    mine = events.filter(profile=OuterRef("pk"))
    if times == 0:  # exactly or at most zero times: never
        return ~Q(Exists(mine))
    if op == "at_least" and times == 1:
        return Q(Exists(mine))
    per_profile = events.values("profile").annotate(n=Count("*"))
    if op == "at_most":
        # Everyone but those who did it more often, counted over the whole window at
        # once (an anti-join): most people qualify, so counting per profile would
        # count for nearly everyone (1.1 s against 2.3 s for a million profiles).
        return _without(Q(pk__in=per_profile.filter(n__gt=times).values("profile")))
    if narrowed:
        # At least N (N ≥ 2) or exactly N beside other conditions: counted per
        # profile, an index-only probe of segments_event_count_idx each. PostgreSQL
        # checks a row's cheaper conditions first, so a narrow segment counts for few
        # people: 0.6 s for the compound segment against 1.5 s counting the
        # whole window (bench/reach.py).
        count = Coalesce(Subquery(mine.values("profile").annotate(n=Count("*")).values("n")), 0)
        return Q((GreaterThanOrEqual if op == "at_least" else Exact)(count, times))
    # Alone, or one of several alternatives ("any of"): the window counted once (IN …
    # GROUP BY … HAVING, from segments_event_name_time_idx), which PostgreSQL keeps as
    # one hashed list even under OR; a probe per profile would count for everyone.
    return Q(pk__in=per_profile.filter(**{"n__gte" if op == "at_least" else "n": times}).values("profile"))


def _live_event(c, now):
    # Decided when the event arrives (the matcher); a reach estimate counts everyone
    # the rest of the segment selects.
    return EVERYONE


COMPILERS = {
    t.PropertyCondition: _property,
    t.AgeCondition: _age,
    t.GenderCondition: _gender,
    t.GeoCondition: _geo,
    t.RadiusCondition: _radius,
    t.ReachabilityCondition: _reachability,
    t.PushStatusCondition: _push_status,
    t.PushCategoryCondition: _push_category,
    t.FieldCondition: _field,
    t.AppFieldCondition: _app_field,
    t.EventCondition: _event,
    t.LiveEventCondition: _live_event,
}
