"""The segment builder's form: posted fields ↔ the rule JSON of segments/rules/tree.py.

Every node of the tree owns the fields named after its place in it. The root group
is "r", its first child "r.0", the second child of a nested third group "r.2.1"; a
rule path ("2.1", what RuleError reports) is the prefix without its "r". So:

    r.match = all                 {"match": "all", "conditions": [
    r.0.kind = property              {"kind": "property", "name": "customer_type",
    r.0.name = customer_type          "op": "equals", "value": "Gold"},
    r.0.op = equals
    r.0.value = Gold
    r.1.match = any                  {"match": "any", "conditions": [...]}]}

A profile field's condition posts its field in its kind ("r.2.kind = field:language",
{"kind": "field", "field": "language", …}): the menu offers each field by name.

Event filters are "<prefix>.f.<i>.<field>" and radius places
"<prefix>.place.<i>.<label|lat|lon>". The browser keeps no state of its own: every
edit posts the whole form, ``read_form`` rebuilds the rules (applying the button
that was pressed), and the page is drawn again from them with ``display``.
"""

import re
from dataclasses import dataclass, field

from django import forms

from accounts import params
from segments.models import Event, PropertyDefinition
from segments.numbers import number_hint, parse_number
from segments.rules import tree as t

ROOT = "r"
MAX_DEPTH = 3  # groups inside groups inside the root: deeper is hard to read, and to draw on a phone

MATCHES = (("all", "all of"), ("any", "any of"), ("none", "none of"))
# A profile field's condition is chosen by the field itself ("field:language"), so the
# menu reads "Language", "Time zone"… as the person's own fields, next to age and gender.
FIELD_KIND = "field"


def _field_choice(name):
    return f"{FIELD_KIND}:{name}", t.FIELD_LABELS[name]


KIND_MENU = (
    (
        "Profile",
        (
            *map(_field_choice, ("name", "email", "phone", "language", "timezone")),
            ("age", "Age"),
            _field_choice("date_of_birth"),
            ("gender", "Gender"),
            ("geo", "Country, region or city"),
            ("radius", "Near a place"),
            *map(_field_choice, ("created_at", "last_seen_at", "updated_at", "identity", "is_test")),
            ("property", "User property"),
        ),
    ),
    (
        "Devices",
        (
            ("reachability", "Reachability"),
            ("push_status", "Push status"),
            ("push_category", "Push category"),
            ("app_field", "App field"),
        ),
    ),
    ("Behaviour", (("event", "Past behaviour (event)"), ("live_event", "Live behaviour (event)"))),
)

Type = PropertyDefinition.Type
TEXT_OPS = ("equals", "not_equals", "contains", "starts_with", "in", "is_set", "is_not_set")
ORDERED_OPS = ("equals", "not_equals", "greater", "less", "between", "is_set", "is_not_set")
BOOLEAN_OPS = ("equals", "is_set", "is_not_set")
# A property nobody has yet has no type: offer everything.
ANY_OPS = t.PROPERTY_OPS
OPS_BY_TYPE = {
    Type.STRING: TEXT_OPS,
    Type.LIST: TEXT_OPS,
    Type.NUMBER: ORDERED_OPS,
    Type.DATE: ORDERED_OPS,
    Type.BOOLEAN: BOOLEAN_OPS,
}
OP_LABELS = {
    "equals": "equals",
    "not_equals": "does not equal",
    "contains": "contains",
    "starts_with": "starts with",
    "in": "is one of",
    "greater": "is more than",
    "less": "is less than",
    "between": "is between",
    "is_set": "is set",
    "is_not_set": "is not set",
}
# The type a profile field's value is read as from the form (tree.PROFILE_FIELDS' kinds).
FIELD_TYPES = {"flag": Type.BOOLEAN, "date": Type.DATE, "time": Type.DATE}
# Fields whose values are few and worth suggesting; names, emails and phones are one per person.
SUGGESTED_FIELDS = ("language", "timezone")
TYPE_LABELS = dict(Type.choices)

# The choices each select offers, for the templates.
CHOICES = {
    "kind_menu": KIND_MENU,
    "matches": MATCHES,
    "geo_fields": (("country", "Country"), ("region", "Region"), ("city", "City")),
    "geo_ops": (("in", "is one of"), ("not_in", "is not one of")),
    "app_fields": (
        ("app_version", "App version"),
        ("make", "Device make"),
        ("model", "Device model"),
        ("os_version", "OS version"),
        ("sdk_version", "SDK version"),
    ),
    "checks": (
        ("push_reachable", "Can receive push"),
        ("has_email", "Has an email address"),
        ("has_phone", "Has a phone number"),
        ("email_unsubscribed", "Unsubscribed from email"),
        ("sms_unsubscribed", "Unsubscribed from SMS"),
    ),
    "channels": (("any", "on any channel"), ("web", "by web push"), ("android", "on Android"), ("ios", "on iOS")),
    "genders": (("female", "Female"), ("male", "Male"), ("other", "Other")),
    "push_channels": (("web", "Web push (browsers)"), ("mobile", "Mobile push (apps)"), ("any", "Any device")),
    "push_statuses": (
        ("ask", "Ask"),
        ("allowed", "Allowed"),
        ("blocked", "Blocked"),
        ("unsupported", "Unsupported"),
        ("suspended", "Suspended"),
    ),
    "count_ops": (("at_least", "at least"), ("at_most", "at most"), ("exactly", "exactly")),
    "windows": (("ever", "ever"), ("last_days", "in the last … days"), ("between", "between two dates")),
    "occurrences": (("any", "every time"), ("first", "the first time"), ("last", "the last time")),
}

# What a condition of each kind holds when it is first added (or its kind changed).
NEW = {
    "property": {"kind": "property", "name": "", "op": "equals", "value": ""},
    "age": {"kind": "age", "min": 18, "max": 65},
    "gender": {"kind": "gender", "values": []},
    "geo": {"kind": "geo", "field": "country", "op": "in", "values": []},
    "radius": {"kind": "radius", "km": 50, "places": []},
    "reachability": {"kind": "reachability", "check": "push_reachable", "value": True, "channel": "any"},
    "push_status": {"kind": "push_status", "channel": "web", "values": []},
    "push_category": {"kind": "push_category", "channel": "any", "values": []},
    "app_field": {"kind": "app_field", "field": "app_version", "op": "equals", "value": ""},
    "event": {
        "kind": "event",
        "event": "",
        "did": True,
        "count": {"op": "at_least", "value": 1},
        "window": {"type": "last_days", "days": 30},
        "occurrence": "any",
        "filters": [],
    },
    "live_event": {"kind": "live_event", "event": "", "filters": []},
    FIELD_KIND: {"kind": FIELD_KIND, "field": "language", "op": "equals", "value": ""},
}
# What a new profile field condition holds, by the field's type.
NEW_FIELD = {
    "text": {"op": "equals", "value": ""},
    "language": {"op": "equals", "value": ""},
    "flag": {"op": "equals", "value": True},
    "date": {"op": "less", "value": ""},
    "time": {"op": "in_last_days", "value": 30},
}
# Event names are offered from the newest events only: a bounded read on a table of millions.
EVENT_SAMPLE = 50_000

NEW_FILTER = {"name": "", "op": "equals", "value": ""}
EMPTY_RULES = {"match": "all", "conditions": []}

_NODE_FIELD = re.compile(r"^r((?:\.\d+)*)\.(match|kind)$")
_POINT = re.compile(r"^\s*(-?\d{1,3}(?:\.\d+)?)\s*[,; ]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")


class SegmentForm(forms.Form):
    """The segment's own fields; the rules come from the builder."""

    name = forms.CharField(max_length=200, error_messages={"required": "Give the segment a name."})
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


@dataclass(frozen=True)
class Types:
    """Known property types: {name: type} for profiles, {(event, name): type} for events."""

    profile: dict = field(default_factory=dict)
    event: dict = field(default_factory=dict)

    @classmethod
    def load(cls):
        profile, event = {}, {}
        for scope, event_name, name, kind in PropertyDefinition.objects.values_list(
            "scope", "event_name", "name", "type"
        ):
            if scope == PropertyDefinition.Scope.PROFILE:
                profile[name] = kind
            else:
                event[event_name, name] = kind
        return cls(profile, event)


def known_events(types):
    """Event names to offer: those with properties on record, and the recent ones."""
    recent = Event.objects.filter(pk__in=Event.objects.order_by("-id").values("pk")[:EVENT_SAMPLE])
    names = set(recent.values_list("name", flat=True).distinct())
    return sorted(names | {event for event, _ in types.event})


@dataclass
class Edit:
    rules: dict
    errors: dict = field(default_factory=dict)  # {rule path: message} found while reading the fields
    focus: str = ""  # the id of the field to focus once the builder is drawn again


# Prefixes, paths and element ids.


def prefix_of(path):
    return f"{ROOT}.{path}" if path else ROOT


def dom_id(prefix):
    return prefix.replace(".", "-")


# Form fields → rules.


class _Fields:
    """Posted fields from a QueryDict or a plain dict of strings and lists."""

    def __init__(self, data):
        self.data = data

    def get(self, key, default=""):
        if hasattr(self.data, "getlist"):
            values = self.data.getlist(key)
            return values[-1] if values else default
        value = self.data.get(key, default)
        return (value[-1] if value else default) if isinstance(value, list) else value

    def getlist(self, key):
        if hasattr(self.data, "getlist"):
            return self.data.getlist(key)
        value = self.data.get(key)
        return list(value) if isinstance(value, list | tuple) else [] if value is None else [value]

    def indexes(self, prefix):
        """The sorted i of every "<prefix>.<i>.<field>" posted."""
        found = set()
        for key in self.data:
            if key.startswith(prefix + "."):
                position = params.index(key[len(prefix) + 1 :].split(".", 1)[0])
                if position is not None:
                    found.add(position)
        return sorted(found)


def read_form(data, *, types=None, action="", find_place=None):
    """The rules the posted fields describe, after the pressed button's ``action``.

    Actions: "add-condition <group prefix>", "add-group <group prefix>", "remove
    <prefix>", "add-filter <prefix>", "remove-filter <prefix> <i>", "remove-place
    <prefix> <i>", "add-place <prefix> <lat> <lon> <label>"; "apply" and "save" also
    turn text typed into a radius condition's place box into a place, with
    ``find_place(text)`` (a dict with label, lat and lon, or None)."""
    reader = _Reader(_Fields(data), types or Types(), action, find_place)
    rules = reader.group(ROOT, "", depth=0)
    return Edit(rules, reader.errors, reader.focus)


class _Reader:
    def __init__(self, fields, types, action, find_place):
        self.fields, self.types, self.find_place = fields, types, find_place
        verb, _, rest = (action or "").partition(" ")
        self.verb, self.args = verb, rest.split(" ", 3) if rest else []
        self.target = self.args[0] if self.args else None
        nodes = {}
        for key in fields.data:
            found = _NODE_FIELD.match(key)
            if found:
                nodes[ROOT + found.group(1)] = found.group(2)
        self.nodes = nodes
        self.errors, self.focus = {}, ""

    def fail(self, path, message):
        self.errors.setdefault(path or "root", message)

    def group(self, prefix, path, depth):
        match = self.fields.get(f"{prefix}.match", "all")
        if depth >= MAX_DEPTH:
            # Only a hand-made post gets here; stop before a deep one exhausts the stack.
            self.fail(path, f"groups go {MAX_DEPTH - 1} deep at most")
            return {"match": match, "conditions": []}
        conditions = []
        for index in self.fields.indexes(prefix):
            child = f"{prefix}.{index}"
            kind = self.nodes.get(child)
            if kind is None or (self.verb == "remove" and self.target == child):
                continue
            child_path = f"{path}.{len(conditions)}" if path else str(len(conditions))
            if kind == "match":
                conditions.append(self.group(child, child_path, depth + 1))
            else:
                conditions.append(self.condition(child, child_path))
        new_path = f"{path}.{len(conditions)}" if path else str(len(conditions))
        if self.target == prefix and self.verb == "add-condition":
            conditions.append(dict(NEW["property"]))
            self.focus = f"{dom_id(prefix_of(new_path))}-kind"
        elif self.target == prefix and self.verb == "add-group" and depth < MAX_DEPTH - 1:
            conditions.append({"match": "all", "conditions": [dict(NEW["property"])]})
            self.focus = f"{dom_id(prefix_of(new_path))}-match"
        if self.verb == "remove" and self.target and self.target.rsplit(".", 1)[0] == prefix:
            self.focus = f"{dom_id(prefix_of(path))}-add"
        return {"match": match, "conditions": conditions}

    def condition(self, prefix, path):
        chosen = self.fields.get(f"{prefix}.kind")
        kind, field_name = menu_kind(chosen)
        if kind is None:
            self.fail(path, f"unknown kind of condition: {chosen!r}")
            return {"kind": chosen}
        if self.fields.get(f"{prefix}.was", chosen) != chosen:
            # A new kind (or field) starts afresh: the old one's fields mean something else.
            return new_condition(chosen)
        if kind == FIELD_KIND:
            rule = self.read_field(prefix, path, field_name)
        else:
            rule = getattr(self, f"read_{kind}")(prefix, path)
        mine = self.target == prefix
        if mine and self.verb == "add-filter" and "filters" in rule:
            rule["filters"].append(dict(NEW_FILTER))
            self.focus = f"{dom_id(prefix)}-f-{len(rule['filters']) - 1}-name"
        elif mine and self.verb == "remove-filter" and "filters" in rule:
            _pop(rule["filters"], self.args[1:2])
            self.focus = f"{dom_id(prefix)}-add-filter"
        elif mine and self.verb == "remove-place" and kind == "radius":
            _pop(rule["places"], self.args[1:2])
            self.focus = f"{dom_id(prefix)}-place_query"
        elif mine and self.verb == "add-place" and kind == "radius" and len(self.args) >= 3:
            lat, lon = parse_number(self.args[1]), parse_number(self.args[2])
            if lat is not None and lon is not None:
                label = self.args[3] if len(self.args) > 3 else f"{lat}, {lon}"
                rule["places"].append({"label": label, "lat": lat, "lon": lon})
            self.focus = f"{dom_id(prefix)}-place_query"
        return rule

    def text(self, prefix, name, missing=""):
        """A field's text; ``missing`` when the form did not show the field at all
        (the window was "ever" until now, say), not when it was left empty."""
        return self.fields.get(f"{prefix}.{name}", missing).strip()

    def operands(self, prefix, path, op, kind, label):
        """The value, values or min and max that ``op`` needs, typed as ``kind``."""
        if op in t.SET_OPS:
            return {}
        if op == "in":
            raw = _split(self.fields.get(f"{prefix}.values"))
            return {"values": [self.typed(path, value, kind, label) for value in raw]}
        if op == "between":
            return {
                "min": self.typed(path, self.text(prefix, "min"), kind, label, ordered=True),
                "max": self.typed(path, self.text(prefix, "max"), kind, label, ordered=True),
            }
        ordered = op in ("greater", "less")
        return {"value": self.typed(path, self.text(prefix, "value"), kind, label, ordered=ordered)}

    def typed(self, path, text, kind, label, ordered=False):
        """``text`` as the JSON value a property of type ``kind`` holds. Unknown
        types stay text, except where the operator orders values (a number reads
        as a number there, as the rule parser would read it anyway)."""
        if kind == Type.BOOLEAN and text in ("true", "false"):
            return text == "true"
        if kind == Type.NUMBER or (kind is None and ordered):
            number = parse_number(text)
            if number is not None:
                return number
            if kind == Type.NUMBER and text:
                self.fail(path, f"{label!r} holds numbers: {number_hint(text)}")
        return text

    def read_property(self, prefix, path):
        name = self.text(prefix, "name")
        kind = self.types.profile.get(name)
        op = _allowed(self.fields.get(f"{prefix}.op"), ops_for(kind))
        return {"kind": "property", "name": name, "op": op, **self.operands(prefix, path, op, kind, name)}

    def read_age(self, prefix, path):
        return {
            "kind": "age",
            "min": _number_or_text(self.text(prefix, "min")),
            "max": _number_or_text(self.text(prefix, "max")),
        }

    def read_gender(self, prefix, path):
        return {"kind": "gender", "values": [v for v in self.fields.getlist(f"{prefix}.values") if v]}

    def read_geo(self, prefix, path):
        return {
            "kind": "geo",
            "field": self.fields.get(f"{prefix}.field", "country"),
            "op": self.fields.get(f"{prefix}.op", "in"),
            "values": _split(self.fields.get(f"{prefix}.values")),
        }

    def read_radius(self, prefix, path):
        places = []
        for index in self.fields.indexes(f"{prefix}.place"):
            at = f"{prefix}.place.{index}"
            places.append(
                {
                    "label": self.text(at, "label"),
                    "lat": _number_or_text(self.text(at, "lat")),
                    "lon": _number_or_text(self.text(at, "lon")),
                }
            )
        query = self.text(prefix, "place_query")
        if query and self.verb in ("apply", "save") and self.find_place:
            place = self.find_place(query)
            if place is None:
                self.fail(
                    path, f"No place called {query!r} in your data: pick a suggestion, or enter latitude, longitude"
                )
            else:
                places.append(place)
                self.focus = f"{dom_id(prefix)}-place_query"
        return {"kind": "radius", "km": _number_or_text(self.text(prefix, "km")), "places": places}

    def read_reachability(self, prefix, path):
        rule = {
            "kind": "reachability",
            "check": self.fields.get(f"{prefix}.check", "push_reachable"),
            "value": self.fields.get(f"{prefix}.value", "true") != "false",
        }
        if rule["check"] == "push_reachable":
            rule["channel"] = self.fields.get(f"{prefix}.channel", "any")
        return rule

    def read_push_status(self, prefix, path):
        return {
            "kind": "push_status",
            "channel": self.fields.get(f"{prefix}.channel", "web"),
            "values": [v for v in self.fields.getlist(f"{prefix}.values") if v],
        }

    def read_push_category(self, prefix, path):
        return {
            "kind": "push_category",
            "channel": self.fields.get(f"{prefix}.channel", "any"),
            "values": _split(self.fields.get(f"{prefix}.values")),
        }

    def read_field(self, prefix, path, name):
        kind = t.PROFILE_FIELDS[name]
        op = _allowed(self.fields.get(f"{prefix}.op"), t.FIELD_OPS[kind])
        rule = {"kind": FIELD_KIND, "field": name, "op": op}
        if op in t.DAY_OPS:
            return rule | {"value": _number_or_text(self.text(prefix, "value"))}
        label = t.FIELD_LABELS[name]
        return rule | self.operands(prefix, path, op, FIELD_TYPES.get(kind, Type.STRING), label)

    def read_app_field(self, prefix, path):
        name = self.fields.get(f"{prefix}.field", "app_version")
        op = _allowed(self.fields.get(f"{prefix}.op"), TEXT_OPS)
        return {"kind": "app_field", "field": name, "op": op, **self.operands(prefix, path, op, Type.STRING, name)}

    def read_event(self, prefix, path):
        event = self.text(prefix, "event")
        window = self.fields.get(f"{prefix}.window", "ever")
        if window == "last_days":
            window = {"type": "last_days", "days": _number_or_text(self.text(prefix, "days", "30"))}
        elif window == "between":
            window = {"type": "between", "start": self.text(prefix, "start"), "end": self.text(prefix, "end")}
        else:
            window = {"type": window}
        return {
            "kind": "event",
            "event": event,
            "did": self.fields.get(f"{prefix}.did", "true") != "false",
            "count": {
                "op": self.fields.get(f"{prefix}.count_op", "at_least"),
                "value": _number_or_text(self.text(prefix, "count", "1")),
            },
            "window": window,
            "occurrence": self.fields.get(f"{prefix}.occurrence", "any"),
            "filters": self.filters(prefix, path, event),
        }

    def read_live_event(self, prefix, path):
        event = self.text(prefix, "event")
        return {"kind": "live_event", "event": event, "filters": self.filters(prefix, path, event)}

    def filters(self, prefix, path, event):
        found = []
        for index in self.fields.indexes(f"{prefix}.f"):
            at = f"{prefix}.f.{index}"
            name = self.text(at, "name")
            kind = self.types.event.get((event, name))
            op = _allowed(self.fields.get(f"{at}.op"), ops_for(kind))
            found.append({"name": name, "op": op, **self.operands(at, path, op, kind, name)})
        return found


def menu_kind(chosen):
    """(kind, profile field) of a condition menu's value: ("geo", None), ("field",
    "language"); (None, None) when it is no kind we know."""
    kind, _, name = (chosen or "").partition(":")
    if kind == FIELD_KIND:
        return (kind, name) if name in t.PROFILE_FIELDS else (None, None)
    return (kind, None) if kind in NEW and not name else (None, None)


def new_condition(chosen):
    """What a condition chosen from the menu holds when it is first added."""
    kind, name = menu_kind(chosen)
    if kind == FIELD_KIND:
        return {"kind": kind, "field": name, **NEW_FIELD[t.PROFILE_FIELDS[name]]}
    return _copy(NEW[kind])


def ops_for(kind):
    return OPS_BY_TYPE.get(kind, ANY_OPS)


def _allowed(op, ops):
    return op if op in ops else ops[0]


def _split(text):
    """ "Gold, Silver" → ["Gold", "Silver"]: lists are typed with commas."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _number_or_text(text):
    """A number if ``text`` is one; else the text itself, for the rule parser to refuse
    with its message (and for the field to show what was typed)."""
    number = parse_number(text)
    return text if number is None else number


def _pop(items, index):
    position = params.index(index[0]) if index else None
    if position is not None and position < len(items):
        items.pop(position)


def _copy(value):
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def find_place_with(suggest_places):
    """A ``find_place`` for read_form: "lat, lon" as a point, else a city in the
    data whose name (or "city, region, country" label) is the text."""

    def find_place(text):
        point = _POINT.match(text)
        if point:
            lat, lon = float(point.group(1)), float(point.group(2))
            return {"label": f"{lat}, {lon}", "lat": lat, "lon": lon}
        city = text.split(",")[0].strip()
        for place in suggest_places(city):
            label = place_label(place)
            if text.strip().lower() in (label.lower(), place["city"].lower()):
                return {"label": label, "lat": round(place["lat"], 6), "lon": round(place["lon"], 6)}
        return None

    return find_place


def place_label(place):
    return ", ".join(part for part in (place["city"], place.get("region"), place.get("country")) if part)
