"""Event property filters of a live trigger (and of Who's exit-intent "single action"): the
rows the marketer types, read as the rule tree stores them (segments/rules/tree.py) and
checked by the rule parser itself, so the live matcher can apply them later."""

from segments.models import PropertyDefinition
from segments.numbers import number_hint, parse_number
from segments.rules import RuleError, parse

MAX_ROWS = 50
FILTER_OPS = (
    ("equals", "equals"),
    ("not_equals", "does not equal"),
    ("contains", "contains"),
    ("starts_with", "starts with"),
    ("greater", "is more than"),
    ("less", "is less than"),
)
BLANK_FILTER = {"name": "", "op": "equals", "value": ""}


def typed_value(text, kind):
    """A filter value as the JSON an event property of type ``kind`` holds: numbers
    compare as numbers (segments compare by type; "10" never equals 10), read by the
    segment builder's parser, so "inf", "nan" and numbers beyond ±1e15 are not numbers."""
    if kind == PropertyDefinition.Type.NUMBER:
        number = parse_number(text)
        if number is None:
            return text
        return int(number) if isinstance(number, float) and number.is_integer() else number
    if kind == PropertyDefinition.Type.BOOLEAN and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def event_property_types(event):
    return dict(
        PropertyDefinition.objects.filter(scope=PropertyDefinition.Scope.EVENT, event_name=event).values_list(
            "name", "type"
        )
    )


def filter_rows(data, prefix):
    """Posted filter rows ``<prefix>_name`` / ``_op`` / ``_value`` as dicts."""
    names, ops, values = (data.getlist(f"{prefix}_{part}") for part in ("name", "op", "value"))
    rows = []
    for index, name in enumerate(names[:MAX_ROWS]):
        op = ops[index] if index < len(ops) else "equals"
        value = values[index] if index < len(values) else ""
        rows.append({"name": name.strip(), "op": op, "value": value.strip()})
    return rows


def check_filters(event, rows):
    """(filters, error) of an event's property filter rows: the filters as the rule
    tree stores them (segments/rules/tree.py), checked by the rule parser itself so
    the live matcher can apply them later."""
    types = event_property_types(event)
    filters = []
    for row in rows:
        if not row["name"]:
            if row["value"]:
                return [], "A filter needs the property it is about."
            continue
        kind = types.get(row["name"])
        value = typed_value(row["value"], kind)
        if kind == PropertyDefinition.Type.NUMBER and isinstance(value, str) and value:
            return [], f"Filter: {row['name']!r} holds numbers: {number_hint(value)}."
        filters.append({"name": row["name"], "op": row["op"], "value": value})
    try:
        parse({"match": "all", "conditions": [{"kind": "live_event", "event": event or "-", "filters": filters}]})
    except RuleError as problem:
        return [], f"Filter: {next(iter(problem.errors.values()))}."
    return filters, None


def show_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def rows_for(filters):
    return [
        {"name": item.get("name", ""), "op": item.get("op", "equals"), "value": show_value(item.get("value"))}
        for item in filters or []
        if isinstance(item, dict)
    ]
