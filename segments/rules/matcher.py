"""One rule tree, checked against one profile in Python (live campaigns).

It must agree with the compiler on every profile: tests/test_rules_agree.py
checks that with generated profiles and rules. Each rule here mirrors the
compiler's, including what counts as "missing"."""

from math import asin, cos, radians, sin, sqrt

from segments.rules import dates
from segments.rules import tree as t
from segments.rules.compiler import EARTH_RADIUS_KM
from segments.rules.dates import age_bounds
from segments.rules.tree import as_bound, as_text


def matches(group, profile, *, devices, events, now, incoming=None):
    """Whether ``profile`` (with its ``devices`` and past ``events``) is in the
    segment; ``incoming`` is the event being evaluated for live conditions."""
    context = {"profile": profile, "devices": devices, "events": events, "now": now, "incoming": incoming}
    return _group(group, context)


def event_names(group):
    """The names of the events ``group``'s conditions read, nested groups included: the
    events ``matches`` needs of a person (a live campaign loads just those)."""
    names = set()
    for node in group.conditions:
        if isinstance(node, t.Group):
            names |= event_names(node)
        elif isinstance(node, t.EventCondition):
            names.add(node.event)
    return names


def _group(group, context):
    results = (_node(child, context) for child in group.conditions)
    if not group.conditions:
        return True
    if group.match == "all":
        return all(results)
    found = any(results)
    return found if group.match == "any" else not found


def _node(node, context):
    if isinstance(node, t.Group):
        return _group(node, context)
    return MATCHERS[type(node)](node, context)


# Properties in a JSON bag.


def _kind(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return None


def json_comparison(properties, c):
    present = properties.get(c.name) is not None
    value = properties.get(c.name)
    if c.op == "is_set":
        return present
    if c.op == "is_not_set":
        return not present
    if c.op == "equals":
        return _equals(value, c.value)
    if c.op == "not_equals":
        return not _equals(value, c.value)
    if c.op == "in":
        return any(_equals(value, option) for option in c.value)
    if c.op in ("contains", "starts_with"):
        if not isinstance(value, str):
            return False
        text, wanted = value.lower(), c.value.lower()
        return wanted in text if c.op == "contains" else text.startswith(wanted)
    if c.op == "between":
        low, high = c.value
        ordered = _ordered(value, low)
        return ordered is not None and as_bound(low) <= ordered <= as_bound(high)
    ordered = _ordered(value, c.value)
    if ordered is None:
        return False
    return ordered > as_bound(c.value) if c.op == "greater" else ordered < as_bound(c.value)


def _equals(value, wanted):
    return _kind(value) == _kind(wanted) and value == wanted


def _ordered(value, bound):
    if isinstance(bound, int | float):
        return value if _kind(value) == "number" else None
    return value[:10] if isinstance(value, str) else None


def column_comparison(text, c):
    if c.op == "is_set":
        return text != ""
    if c.op == "is_not_set":
        return text == ""
    if c.op == "in":
        return text in {as_text(v) for v in c.value}
    if c.op == "contains":
        return c.value.lower() in text.lower()
    if c.op == "starts_with":
        return text.lower().startswith(c.value.lower())
    if c.op == "not_equals":
        return text != "" and text != as_text(c.value)
    return text == as_text(c.value)


# One function per kind of condition.


def _property(c, context):
    return json_comparison(context["profile"].properties, c.comparison)


def _age(c, context):
    profile = context["profile"]
    earliest, latest = age_bounds(context["now"].date(), c.low, c.high)
    if profile.date_of_birth is not None:
        return earliest < profile.date_of_birth <= latest
    return profile.age is not None and c.low <= profile.age <= c.high


def _gender(c, context):
    return context["profile"].gender in c.values


def _geo(c, context):
    found = getattr(context["profile"], c.field) in c.values
    return not found if c.negate else found


def _radius(c, context):
    profile = context["profile"]
    if profile.latitude is None or profile.longitude is None:
        return False
    return any(distance_km(profile.latitude, profile.longitude, p.lat, p.lon) <= c.km for p in c.places)


def distance_km(lat1, lon1, lat2, lon2):
    lat1, lon1, lat2, lon2 = map(radians, (lat1, lon1, lat2, lon2))
    half_chord = sin((lat1 - lat2) / 2) ** 2 + cos(lat2) * cos(lat1) * sin((lon1 - lon2) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(sqrt(min(half_chord, 1.0)))


def is_reachable(device, channel="any"):
    if channel != "any" and device.platform != channel:
        return False
    return device.reachable


def _reachability(c, context):
    profile = context["profile"]
    if c.check == "push_reachable":
        found = any(is_reachable(device, c.channel) for device in context["devices"])
    elif c.check in ("has_email", "has_phone"):
        found = getattr(profile, c.check.removeprefix("has_")) != ""
    else:
        found = getattr(profile, c.check) is True
    return found if c.value else not found


def _push_status(c, context):
    platforms = t.PUSH_CHANNELS[c.channel]
    return any(
        d.platform in platforms and d.push_status in c.values and d.retired_at is None for d in context["devices"]
    )


def _push_category(c, context):
    platforms = t.PUSH_CHANNELS[c.channel]
    return any(
        d.platform in platforms and d.reachable and _holds_any(d.categories, c.categories) for d in context["devices"]
    )


def _holds_any(chosen, wanted):
    return isinstance(chosen, list) and any(isinstance(item, str) and item in wanted for item in chosen)


def _field(c, context):
    comparison, name = c.comparison, c.comparison.name
    value = getattr(context["profile"], name)
    if c.type == "flag":
        return value is comparison.value
    if c.type in ("date", "time"):
        if comparison.op in t.SET_OPS:
            return (value is not None) == (comparison.op == "is_set")
        start, end = dates.field_bounds(comparison, context["now"], timestamps=c.type == "time")
        return value is not None and (start is None or value >= start) and (end is None or value < end)
    if c.type == "language" and comparison.op in ("equals", "not_equals", "in"):
        wanted = comparison.value if comparison.op == "in" else (comparison.value,)
        found = any(t.language_matches(value, option) for option in wanted)
        return value != "" and not found if comparison.op == "not_equals" else found
    return column_comparison(value, comparison)


def _app_field(c, context):
    comparison = c.comparison
    return any(column_comparison(getattr(device, comparison.name), comparison) for device in context["devices"])


def _event_matches(event, c):
    return event.name == c.event and all(json_comparison(event.properties, f) for f in c.filters)


def _event(c, context):
    start, end = dates.window_bounds(c.window, context["now"])

    def inside(moment):
        return (start is None or moment >= start) and (end is None or moment < end)

    matching = [event for event in context["events"] if _event_matches(event, c)]
    if c.occurrence != "any":
        if not matching:
            found = False
        else:
            edge = (min if c.occurrence == "first" else max)(event.occurred_at for event in matching)
            found = inside(edge)
    else:
        times = sum(1 for event in matching if inside(event.occurred_at))
        found = {
            "at_least": times >= c.count,
            "at_most": times <= c.count,
            "exactly": times == c.count,
        }[c.count_op]
    return found if c.did else not found


def _live_event(c, context):
    incoming = context["incoming"]
    if incoming is None:
        return True  # as the compiler: a reach estimate has no incoming event
    return incoming.name == c.event and all(json_comparison(incoming.properties, f) for f in c.filters)


MATCHERS = {
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
