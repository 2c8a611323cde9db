"""The rule tree: groups of conditions, parsed and checked from stored JSON.

The JSON form (what the builder saves and the database stores)::

    {"match": "all", "conditions": [
        {"kind": "property", "name": "customer_type", "op": "equals", "value": "Gold"},
        {"kind": "field", "field": "language", "op": "equals", "value": "en"},
        {"kind": "field", "field": "last_seen_at", "op": "in_last_days", "value": 30},
        {"kind": "radius", "km": 50, "places": [{"label": "San Francisco", "lat": 37.77, "lon": -122.42}]},
        {"kind": "event", "event": "Added To Cart", "did": true,
         "count": {"op": "at_least", "value": 2}, "window": {"type": "last_days", "days": 30}},
        {"match": "any", "conditions": [...]}
    ]}

A "field" condition compares one of the profile's own columns (``PROFILE_FIELDS``),
with the operators of its type (``FIELD_OPS``):

- text (name, email, phone, identity, time zone): as custom text properties do —
  equals, not equals and "is one of" are exact, contains and starts with ignore
  case; not equals leaves out people with no value (unknown, not different).
- language: a BCP 47 language range, matched as RFC 4647 §3.3.1 basic filtering:
  "en" selects en, en-GB and en-US (case ignored, as BCP 47 tags are), "en-GB"
  only en-GB. The seed's "language is English" segment is "language equals en".
- is_test: equals true or false.
- dates (date_of_birth) and times (created_at "first seen", updated_at,
  last_seen_at): greater ("after", the whole day), less ("before"), between (both
  days included) — UTC days, as event windows — and, for times, in_last_days /
  over_days_ago with ``value`` a number of days; is_set / is_not_set.

Push permission (seed 002) is per device: ``push_status`` ({"channel": "web",
"values": ["ask"]}) is "has a web device, not retired, whose status is Ask" (no web
device, no web status); ``push_category`` ({"channel": "any", "values": ["offers"]})
is "push reaches them (Device.reachable) through a device whose chosen categories
hold one of the values", as sent. Channels: web (browsers), mobile (apps), any.

``parse`` returns a ``Group``; every problem found is reported at once as a
``RuleError`` whose ``errors`` map a condition's path ("0", "3.1") to a message,
so the builder can show each message next to its condition.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from zoneinfo import available_timezones

from segments import numbers

GROUP_MATCHES = ("all", "any", "none")

TEXT_OPS = ("equals", "not_equals", "contains", "starts_with", "in")
RANGE_OPS = ("greater", "less", "between")
SET_OPS = ("is_set", "is_not_set")
PROPERTY_OPS = TEXT_OPS + RANGE_OPS + SET_OPS
APP_FIELDS = ("app_version", "make", "model", "os_version", "sdk_version")
GEO_FIELDS = ("country", "region", "city")
REACHABILITY_CHECKS = ("has_email", "has_phone", "email_unsubscribed", "sms_unsubscribed", "push_reachable")
CHANNELS = ("web", "android", "ios", "any")
PUSH_STATUSES = ("ask", "allowed", "blocked", "unsupported", "suspended")
# The platforms of each channel a push condition looks at.
PUSH_CHANNELS = {"web": ("web",), "mobile": ("android", "ios"), "any": ("web", "android", "ios")}
# Categories come from browsers and apps: as many and as long as the API takes (schemas.py).
MAX_CATEGORIES, CATEGORY_LENGTH = 50, 100
COUNT_OPS = ("at_least", "at_most", "exactly")
OCCURRENCES = ("any", "first", "last")
GENDERS = ("female", "male", "other")
DAY_OPS = ("in_last_days", "over_days_ago")
# The profile's own columns a "field" condition may compare, by type. Country,
# region and city are "geo" conditions, gender and age theirs, email and SMS
# unsubscribes "reachability" checks.
PROFILE_FIELDS = {
    "name": "text",
    "email": "text",
    "phone": "text",
    "identity": "text",
    "language": "language",
    "timezone": "text",
    "is_test": "flag",
    "date_of_birth": "date",
    "created_at": "time",
    "updated_at": "time",
    "last_seen_at": "time",
}
# As the builder's menu and its messages name them.
FIELD_LABELS = {
    "name": "Name",
    "email": "Email",
    "phone": "Phone",
    "identity": "Identity",
    "language": "Language",
    "timezone": "Time zone",
    "is_test": "Test profile",
    "date_of_birth": "Date of birth",
    "created_at": "First seen",
    "updated_at": "Last updated",
    "last_seen_at": "Last seen",
}
FIELD_OPS = {
    "text": TEXT_OPS + SET_OPS,
    "language": TEXT_OPS + SET_OPS,
    "flag": ("equals",),
    "date": ("greater", "less", "between", *SET_OPS),
    "time": (*DAY_OPS, "greater", "less", "between", *SET_OPS),
}
# RFC 5646 §2.1's shape, loosely: a language range is subtags of letters and digits.
_LANGUAGE_RANGE = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")


class RuleError(ValueError):
    def __init__(self, errors):
        self.errors = errors  # {path: message}
        super().__init__("; ".join(f"condition {path}: {message}" for path, message in errors.items()))


@dataclass(frozen=True)
class Comparison:
    """``name op value`` on a JSON property bag (a profile's custom properties, an
    event's properties) or on a text field. ``value`` is a list for "in", a (low,
    high) pair for "between", None for is_set / is_not_set."""

    name: str
    op: str
    value: object = None


@dataclass(frozen=True)
class PropertyCondition:
    comparison: Comparison


@dataclass(frozen=True)
class AgeCondition:
    low: int
    high: int


@dataclass(frozen=True)
class GenderCondition:
    values: tuple


@dataclass(frozen=True)
class GeoCondition:
    field: str
    values: tuple
    negate: bool = False


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float
    label: str = ""


@dataclass(frozen=True)
class RadiusCondition:
    places: tuple
    km: float


@dataclass(frozen=True)
class ReachabilityCondition:
    check: str
    value: bool = True
    channel: str = "any"


@dataclass(frozen=True)
class AppFieldCondition:
    """On any of the person's devices."""

    comparison: Comparison


@dataclass(frozen=True)
class PushStatusCondition:
    channel: str
    values: tuple


@dataclass(frozen=True)
class PushCategoryCondition:
    channel: str
    categories: tuple


@dataclass(frozen=True)
class FieldCondition:
    """On one of the profile's own columns; ``comparison.name`` is the column."""

    comparison: Comparison

    @property
    def type(self):
        return PROFILE_FIELDS[self.comparison.name]


@dataclass(frozen=True)
class Window:
    type: str  # "ever", "last_days", "between"
    days: int = 0
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class EventCondition:
    """Past behaviour: did (or did not) do ``event`` with ``filters``, ``count``
    times, inside ``window``; "first" / "last" ask whether the person's first or
    most recent such event falls inside the window."""

    event: str
    did: bool = True
    filters: tuple = ()
    count_op: str = "at_least"
    count: int = 1
    window: Window = field(default_factory=lambda: Window("ever"))
    occurrence: str = "any"


@dataclass(frozen=True)
class LiveEventCondition:
    """Live behaviour: the incoming event is ``event`` with ``filters``."""

    event: str
    filters: tuple = ()


@dataclass(frozen=True)
class Group:
    match: str
    conditions: tuple


class _Parser:
    def __init__(self):
        self.errors = {}

    def fail(self, path, message):
        self.errors.setdefault(path or "root", message)

    def group(self, data, path=""):
        if not isinstance(data, dict):
            self.fail(path, "must be an object")
            return Group("all", ())
        match = data.get("match", "all")
        if match not in GROUP_MATCHES:
            self.fail(path, f"match must be one of {', '.join(GROUP_MATCHES)}")
        items = data.get("conditions", [])
        if not isinstance(items, list):
            self.fail(path, "conditions must be a list")
            items = []
        children = []
        for index, item in enumerate(items):
            child_path = f"{path}.{index}" if path else str(index)
            if isinstance(item, dict) and "conditions" in item:
                children.append(self.group(item, child_path))
            else:
                condition = self.condition(item, child_path)
                if condition is not None:
                    children.append(condition)
        return Group(match, tuple(children))

    def condition(self, data, path):
        if not isinstance(data, dict):
            self.fail(path, "must be an object")
            return None
        kind = data.get("kind")
        method = getattr(self, f"kind_{kind}", None) if isinstance(kind, str) else None
        if method is None:
            self.fail(path, f"unknown kind of condition: {kind!r}")
            return None
        try:
            return method(data)
        except _Invalid as problem:
            self.fail(path, str(problem))
            return None

    # One method per kind of condition.

    def kind_property(self, data):
        return PropertyCondition(comparison(data, _name(data, "name")))

    def kind_age(self, data):
        low, high = _number(data, "min", whole=True), _number(data, "max", whole=True)
        if low is None or high is None or low < 0 or high < low:
            raise _Invalid("age needs a min and a max, 0 or more, with min ≤ max")
        return AgeCondition(int(low), int(high))

    def kind_gender(self, data):
        values = _list(data, "values")
        if not values or any(value not in GENDERS for value in values):
            raise _Invalid(f"gender needs one or more of {', '.join(GENDERS)}")
        return GenderCondition(tuple(values))

    def kind_geo(self, data):
        geo_field = data.get("field")
        if geo_field not in GEO_FIELDS:
            raise _Invalid(f"field must be one of {', '.join(GEO_FIELDS)}")
        values = _list(data, "values")
        if not values or not all(isinstance(value, str) and value for value in values):
            raise _Invalid(f"choose at least one {geo_field}")
        if data.get("op", "in") not in ("in", "not_in"):
            raise _Invalid("op must be in or not_in")
        return GeoCondition(geo_field, tuple(values), negate=data.get("op") == "not_in")

    def kind_radius(self, data):
        km = _number(data, "km")
        if km is None or not 0 < km <= 20_000:
            raise _Invalid("the radius needs a distance in km, more than 0")
        places = []
        for place in _list(data, "places"):
            lat, lon = _number(place, "lat"), _number(place, "lon")
            if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise _Invalid("each place needs a latitude (-90…90) and a longitude (-180…180)")
            # Rounded as profiles' coordinates are (segments/schemas.py).
            places.append(Place(round(float(lat), 7), round(float(lon), 7), str(place.get("label", ""))))
        if not places:
            raise _Invalid("the radius needs a place: pick a city or a point")
        return RadiusCondition(tuple(places), float(km))

    def kind_reachability(self, data):
        check = data.get("check")
        if check not in REACHABILITY_CHECKS:
            raise _Invalid(f"check must be one of {', '.join(REACHABILITY_CHECKS)}")
        value = data.get("value", True)
        if not isinstance(value, bool):
            raise _Invalid("value must be true or false")
        channel = data.get("channel", "any")
        if channel not in CHANNELS:
            raise _Invalid(f"channel must be one of {', '.join(CHANNELS)}")
        return ReachabilityCondition(check, value, channel)

    def kind_app_field(self, data):
        name = data.get("field")
        if name not in APP_FIELDS:
            raise _Invalid(f"field must be one of {', '.join(APP_FIELDS)}")
        found = comparison(data, name)
        if found.op in RANGE_OPS:
            raise _Invalid("app fields compare as text: use equals, not equals, contains, starts with or in")
        return AppFieldCondition(found)

    def kind_push_status(self, data):
        channel = _push_channel(data)
        values = _list(data, "values")
        if not values or not all(isinstance(value, str) and value in PUSH_STATUSES for value in values):
            raise _Invalid(f"push status needs one or more of {', '.join(PUSH_STATUSES)}")
        return PushStatusCondition(channel, tuple(dict.fromkeys(values)))

    def kind_push_category(self, data):
        channel = _push_channel(data)
        values = _list(data, "values")
        if not values:
            raise _Invalid("choose at least one category")
        if len(values) > MAX_CATEGORIES:
            raise _Invalid(f"at most {MAX_CATEGORIES} categories")
        for value in values:
            if not isinstance(value, str) or not 0 < len(value) <= CATEGORY_LENGTH or not value.isprintable():
                raise _Invalid(f"a category is text of 1 to {CATEGORY_LENGTH} characters, without control characters")
        return PushCategoryCondition(channel, tuple(dict.fromkeys(values)))

    def kind_field(self, data):
        name = data.get("field")
        if name not in PROFILE_FIELDS:
            raise _Invalid(f"field must be one of {', '.join(PROFILE_FIELDS)}")
        kind, op = PROFILE_FIELDS[name], data.get("op")
        label = FIELD_LABELS[name]
        if op not in FIELD_OPS[kind]:
            raise _Invalid(f"{label} takes {', '.join(FIELD_OPS[kind])}")
        if kind == "flag":
            if not isinstance(data.get("value"), bool):
                raise _Invalid(f"{label} is true or false")
            return FieldCondition(Comparison(name, op, data["value"]))
        if op in DAY_OPS:
            days = _number(data, "value", whole=True)
            if days is None or not 1 <= days <= 3650:
                raise _Invalid(f"{label}: the number of days must be a whole number between 1 and 3650")
            return FieldCondition(Comparison(name, op, int(days)))
        if op in RANGE_OPS:
            return FieldCondition(_day_comparison(data, name, op, label))
        found = comparison(data, name)
        if kind == "language" and op in ("equals", "not_equals", "in"):
            for value in found.value if op == "in" else (found.value,):
                if not isinstance(value, str) or not _LANGUAGE_RANGE.fullmatch(value):
                    raise _Invalid(f"Language: {value!r} is not a language tag, e.g. en or pt-BR")
        if name == "timezone" and op in ("equals", "not_equals", "in"):
            for value in found.value if op == "in" else (found.value,):
                if value not in _time_zones():
                    raise _Invalid(f"Time zone: {value!r} is not an IANA time zone name, e.g. Europe/Paris")
        return FieldCondition(found)

    def kind_event(self, data):
        event = _name(data, "event")
        did = data.get("did", True)
        if not isinstance(did, bool):
            raise _Invalid("did must be true or false")
        count = data.get("count") or {"op": "at_least", "value": 1}
        count_op = count.get("op") if isinstance(count, dict) else None
        if count_op not in COUNT_OPS:
            raise _Invalid(f"count op must be one of {', '.join(COUNT_OPS)}")
        times = _number(count, "value", whole=True)
        if times is None or times < 0 or (times == 0 and count_op == "at_least"):
            raise _Invalid("the number of times must be a whole number, at least 1 for 'at least'")
        occurrence = data.get("occurrence", "any")
        if occurrence not in OCCURRENCES:
            raise _Invalid(f"occurrence must be one of {', '.join(OCCURRENCES)}")
        return EventCondition(
            event=event,
            did=did,
            filters=_filters(data),
            count_op=count_op,
            count=int(times),
            window=_window(data.get("window") or {"type": "ever"}),
            occurrence=occurrence,
        )

    def kind_live_event(self, data):
        return LiveEventCondition(_name(data, "event"), _filters(data))


class _Invalid(ValueError):
    pass


def parse(data):
    """The rule tree of ``data`` (stored JSON), or RuleError with every problem."""
    parser = _Parser()
    tree = parser.group(data)
    if parser.errors:
        raise RuleError(parser.errors)
    return tree


def comparison(data, name):
    op = data.get("op")
    if op not in PROPERTY_OPS:
        raise _Invalid(f"choose an operator: {', '.join(PROPERTY_OPS)}")
    if op in SET_OPS:
        return Comparison(name, op)
    if op == "in":
        values = _list(data, "values")
        if not values:
            raise _Invalid("the list is empty: add at least one value")
        if not all(_scalar(value) for value in values):
            raise _Invalid("list values must be text, numbers or true/false")
        return Comparison(name, op, tuple(values))
    if op == "between":
        low, high = _number(data, "min"), _number(data, "max")
        if low is None or high is None:
            low, high = _date(data, "min"), _date(data, "max")
            if low is None or high is None:
                raise _Invalid("between needs a min and a max, both numbers or both dates (YYYY-MM-DD)")
        if high < low:
            raise _Invalid("between needs min ≤ max")
        return Comparison(name, op, (low, high))
    value = data.get("value")
    if op in ("greater", "less"):
        number = _number(data, "value")
        found = number if number is not None else _date(data, "value")
        if found is None:
            raise _Invalid(f"{op} needs a number, or a date as YYYY-MM-DD")
        return Comparison(name, op, found)
    if op in ("contains", "starts_with"):
        if not isinstance(value, str) or not value:
            raise _Invalid(f"{op.replace('_', ' ')} needs some text")
        return Comparison(name, op, value)
    if not _scalar(value):
        raise _Invalid(f"{op.replace('_', ' ')} needs a value: text, a number or true/false")
    return Comparison(name, op, value)


def _day_comparison(data, name, op, label):
    """before / after / between for a date or time column: dates only."""
    if op == "between":
        low, high = _date(data, "min"), _date(data, "max")
        if low is None or high is None or high < low:
            raise _Invalid(f"{label}: between needs two dates (YYYY-MM-DD), the earlier first")
        return Comparison(name, op, (low, high))
    day = _date(data, "value")
    if day is None:
        raise _Invalid(f"{label}: {'after' if op == 'greater' else 'before'} needs a date (YYYY-MM-DD)")
    return Comparison(name, op, day)


@cache
def _time_zones():
    return frozenset(available_timezones())


def _name(data, key):
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"choose {'an event' if key == 'event' else 'a property'}")
    return value.strip()


def _scalar(value):
    if numbers.is_number(value):
        return numbers.in_range(value)
    return isinstance(value, str | bool) and value != ""


def _push_channel(data):
    channel = data.get("channel", "any")
    if not isinstance(channel, str) or channel not in PUSH_CHANNELS:
        raise _Invalid(f"channel must be one of {', '.join(PUSH_CHANNELS)}")
    return channel


def _list(data, key):
    value = data.get(key) if isinstance(data, dict) else None
    return list(value) if isinstance(value, list | tuple) else []


def _number(data, key, whole=False):
    """The number at ``data[key]`` (text such as "2.5" accepted, as forms send it)."""
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value) if not whole else int(value)
        except ValueError:
            return None
    if not numbers.in_range(value):  # also NaN and infinities
        return None
    if whole and int(value) != value:
        return None
    return value


def _date(data, key):
    value = data.get(key)
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _window(data):
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "ever":
        return Window("ever")
    if kind == "last_days":
        days = _number(data, "days", whole=True)
        if days is None or not 1 <= days <= 3650:
            raise _Invalid("'in the last N days' needs N between 1 and 3650")
        return Window("last_days", days=int(days))
    if kind == "between":
        start, end = _date(data, "start"), _date(data, "end")
        if start is None or end is None or end < start:
            raise _Invalid("'between' needs a start and an end date (YYYY-MM-DD), start first")
        return Window("between", start=start, end=end)
    raise _Invalid("the time window must be ever, last_days or between")


def _filters(data):
    found = []
    for item in _list(data, "filters"):
        if not isinstance(item, dict):
            raise _Invalid("each event filter must be an object")
        found.append(comparison(item, _name(item, "name")))
    return tuple(found)


def language_matches(tag, wanted):
    """RFC 4647 §3.3.1 basic filtering: ``wanted`` ("en") matches ``tag`` when it is
    the tag or a prefix of it ending at a subtag ("en-GB"); case is ignored (BCP 47
    §2.1.1). The compiler writes the same test in SQL."""
    tag, wanted = tag.lower(), wanted.lower()
    return tag == wanted or tag.startswith(wanted + "-")


def as_text(value):
    """A rule value as the text stored in a plain column: 14 and 14.0 read "14",
    true reads "true". The compiler and the matcher both compare through it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_bound(value):
    """A comparison bound: numbers as they are, dates as YYYY-MM-DD."""
    return value if isinstance(value, int | float) else value.isoformat()
