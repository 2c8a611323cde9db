"""The segment builder's page: the rule JSON as nested dicts that
segments/_builder.html draws, and as the form fields it posts back (reading
them is segments/forms/builder.py)."""

import json

from accounts.params import is_digits
from segments.forms.builder import (
    EMPTY_RULES,
    FIELD_KIND,
    FIELD_TYPES,
    MAX_DEPTH,
    NEW,
    OP_LABELS,
    ROOT,
    SUGGESTED_FIELDS,
    TYPE_LABELS,
    Type,
    Types,
    _allowed,
    dom_id,
    ops_for,
    prefix_of,
)
from segments.rules import tree as t

DATE_OP_LABELS = OP_LABELS | {
    "greater": "is after",
    "less": "is before",
    "in_last_days": "in the last … days",
    "over_days_ago": "more than … days ago",
}
FLAG_OP_LABELS = {"equals": "is"}
# tree.language_matches, in the marketer's words.
LANGUAGE_HINT = "en also selects regional tags: en-GB, en-US…"


def display(rules, *, types=None, errors=None, notes=None, focus=""):
    """The tree as nested dicts for segments/_builder.html: each node with its
    prefix, element id, rule path, the fields' texts, its error and its note."""
    context = {"types": types or Types(), "errors": errors or {}, "notes": notes or {}, "focus": focus}
    root = _display_group(rules if isinstance(rules, dict) else EMPTY_RULES, "", 0, context)
    root["error"] = context["errors"].get("root", "")
    return root


def _display_group(group, path, depth, context):
    prefix = prefix_of(path)
    children = []
    for index, child in enumerate(_children(group)):
        child_path = f"{path}.{index}" if path else str(index)
        if _is_group(child):
            children.append(_display_group(child, child_path, depth + 1, context))
        else:
            children.append(_display_condition(child, child_path, context))
    return {
        "is_group": True,
        "prefix": prefix,
        "id": dom_id(prefix),
        "path": path,
        "number": _number_label(path),
        "match": group.get("match", "all"),
        "children": children,
        "depth": depth,
        "can_nest": depth < MAX_DEPTH - 1,
        "error": context["errors"].get(path, "") if path else "",
        "focus": _focus(prefix, context),
    }


def _display_condition(rule, path, context):
    prefix = prefix_of(path)
    kind = rule.get("kind") if rule.get("kind") in NEW else "property"
    fields = condition_fields(rule)
    # The menu's value: the kind, or "field:<name>" for a profile field.
    menu = fields["kind"] if kind == FIELD_KIND else kind
    node = {
        "is_group": False,
        "prefix": prefix,
        "id": dom_id(prefix),
        "path": path,
        "number": _number_label(path),
        "kind": kind,
        "menu": menu,
        "fields": fields,
        "error": context["errors"].get(path, ""),
        "note": context["notes"].get(path, ""),
        "focus": _focus(prefix, context),
    }
    types = context["types"]
    if kind == FIELD_KIND:
        node.update(_field(rule, fields, prefix))
    elif kind == "property":
        node.update(_comparison(fields, "", types.profile.get(fields.get("name"))))
        node["suggest"] = _suggest("values", f"{prefix}.", name=fields.get("name", ""))
    elif kind == "app_field":
        node.update(_comparison(fields, "", Type.STRING))
        node["type_label"] = ""
        node["suggest"] = _suggest("column", f"{prefix}.", field=fields.get("field", ""))
    elif kind == "geo":
        node["suggest"] = _suggest("column", f"{prefix}.", field=fields.get("field", ""))
    elif kind == "push_category":
        node["suggest"] = _suggest("categories", f"{prefix}.")
    elif kind == "radius":
        node["places"] = [
            {"index": index, **{name: fields[f"place.{index}.{name}"] for name in ("label", "lat", "lon")}}
            for index in range(len(_list(rule.get("places"))))
        ]
    elif kind in ("event", "live_event"):
        event = fields.get("event", "")
        node["event_properties"] = sorted(
            (name, TYPE_LABELS.get(type_, "")) for (on, name), type_ in types.event.items() if on == event
        )
        node["filters"] = []
        for index in range(len(_list(rule.get("filters")))):
            at = f"{prefix}.f.{index}"
            name = fields[f"f.{index}.name"]
            item = {"index": index, "prefix": at, "id": dom_id(at), "name": name}
            item.update(_comparison(fields, f"f.{index}.", types.event.get((event, name))))
            item["suggest"] = _suggest("values", f"{at}.", name=name, event=event)
            item["autofocus"] = node["focus"] == f"f-{index}-name"
            node["filters"].append(item)
    return node


def _field(rule, fields, prefix):
    """A profile field's row: the operators of its type (tree.FIELD_OPS), its operands."""
    name = rule.get("field") if rule.get("field") in t.PROFILE_FIELDS else NEW[FIELD_KIND]["field"]
    kind = t.PROFILE_FIELDS[name]
    shown = _comparison(fields, "", FIELD_TYPES.get(kind, Type.STRING), ops=t.FIELD_OPS[kind])
    if kind == "flag":
        shown["ops"] = list(FLAG_OP_LABELS.items())
    shown["type_label"] = ""
    shown["hint"] = LANGUAGE_HINT if kind == "language" and shown["op"] in ("equals", "not_equals", "in") else ""
    shown["suggest"] = _suggest("column", f"{prefix}.", field=name if name in SUGGESTED_FIELDS else "")
    return shown


def _comparison(fields, head, kind, ops=None):
    """What a comparison's row draws: operators offered for the type, and the operands."""
    labels = DATE_OP_LABELS if kind == Type.DATE else OP_LABELS
    ops = ops or ops_for(kind)
    return {
        "type": kind,
        "type_label": TYPE_LABELS.get(kind, ""),
        "ops": [(value, labels[value]) for value in ops],
        "op": _allowed(fields.get(f"{head}op"), ops),
        "input_type": "date" if kind == Type.DATE else "text",
        "numeric": kind == Type.NUMBER,
        "boolean": kind == Type.BOOLEAN,
        **{name: fields.get(f"{head}{name}", "") for name in ("value", "values", "min", "max")},
    }


def _suggest(what, field_prefix, **params):
    """hx-vals for a field's suggestion box (JSON; the template escapes it)."""
    return json.dumps({"what": what, **params, "field_prefix": field_prefix})


def walk(node):
    """Every node of a displayed tree, groups first."""
    yield node
    for child in node.get("children", ()):
        yield from walk(child)


def _focus(prefix, context):
    """The field of this node to focus ("kind", "f-0-name"), if the last edit asked
    for one of its own; a child's ids go on with a digit ("r-0-1-kind")."""
    own = dom_id(prefix) + "-"
    rest = context["focus"][len(own) :] if context["focus"].startswith(own) else ""
    return rest if rest and not is_digits(rest[0]) else ""


def _number_label(path):
    return ".".join(str(int(part) + 1) for part in path.split(".")) if path else ""


# Rules → form fields (what the builder draws, and the inverse of read_form).


def form_from_rules(rules):
    """{field name: text or list of texts}: the fields ``read_form`` turns back into ``rules``."""
    fields = {}
    _group_fields(rules if isinstance(rules, dict) else {}, ROOT, fields)
    return fields


def _group_fields(group, prefix, fields):
    fields[f"{prefix}.match"] = str(group.get("match", "all"))
    for index, child in enumerate(_children(group)):
        at = f"{prefix}.{index}"
        if _is_group(child):
            _group_fields(child, at, fields)
        else:
            fields.update({f"{at}.{name}": value for name, value in condition_fields(child).items()})


def _children(group):
    conditions = group.get("conditions", [])
    return [child for child in conditions if isinstance(child, dict)] if isinstance(conditions, list) else []


def _is_group(node):
    return isinstance(node, dict) and "conditions" in node


def condition_fields(rule):
    """One condition's fields, without its prefix."""
    kind = rule.get("kind")
    chosen = f"{kind}:{rule.get('field')}" if kind == FIELD_KIND else str(kind)
    fields = {"kind": chosen, "was": chosen}
    if kind == FIELD_KIND:
        fields.update(_comparison_fields(rule))
    elif kind in ("property", "app_field"):
        fields["name" if kind == "property" else "field"] = _show(rule.get("name" if kind == "property" else "field"))
        fields.update(_comparison_fields(rule))
    elif kind == "age":
        fields.update(min=_show(rule.get("min")), max=_show(rule.get("max")))
    elif kind == "gender":
        fields["values"] = [str(value) for value in _list(rule.get("values"))]
    elif kind == "push_status":
        fields.update(channel=_show(rule.get("channel")), values=[str(value) for value in _list(rule.get("values"))])
    elif kind == "geo":
        fields.update(
            field=_show(rule.get("field")), op=_show(rule.get("op", "in")), values=_joined(rule.get("values"))
        )
    elif kind == "radius":
        fields["km"] = _show(rule.get("km"))
        for index, place in enumerate(_list(rule.get("places"))):
            place = place if isinstance(place, dict) else {}
            for name in ("label", "lat", "lon"):
                fields[f"place.{index}.{name}"] = _show(place.get(name))
    elif kind == "push_category":
        fields.update(channel=_show(rule.get("channel")), values=_joined(rule.get("values")))
    elif kind == "reachability":
        fields.update(check=_show(rule.get("check")), value=_show(rule.get("value", True)))
        if "channel" in rule:
            fields["channel"] = _show(rule["channel"])
    elif kind in ("event", "live_event"):
        fields["event"] = _show(rule.get("event"))
        if kind == "event":
            count = rule.get("count") if isinstance(rule.get("count"), dict) else {"op": "at_least", "value": 1}
            window = rule.get("window") if isinstance(rule.get("window"), dict) else {"type": "ever"}
            fields.update(
                did=_show(rule.get("did", True)),
                count_op=_show(count.get("op")),
                count=_show(count.get("value")),
                window=_show(window.get("type")),
                days=_show(window.get("days")),
                start=_show(window.get("start")),
                end=_show(window.get("end")),
                occurrence=_show(rule.get("occurrence", "any")),
            )
        for index, item in enumerate(_list(rule.get("filters"))):
            item = item if isinstance(item, dict) else {}
            fields[f"f.{index}.name"] = _show(item.get("name"))
            fields.update({f"f.{index}.{name}": value for name, value in _comparison_fields(item).items()})
    return fields


def _comparison_fields(rule):
    op = rule.get("op")
    fields = {"op": _show(op)}
    if op == "in":
        fields["values"] = _joined(rule.get("values"))
    elif op == "between":
        fields.update(min=_show(rule.get("min")), max=_show(rule.get("max")))
    elif op not in t.SET_OPS:
        fields["value"] = _show(rule.get("value"))
    return fields


def _show(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _joined(values):
    return ", ".join(_show(value) for value in _list(values))


def _list(value):
    return value if isinstance(value, list) else []
