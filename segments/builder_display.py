"""The segment builder's page: the rule JSON as nested dicts that
segments/_builder.html draws (the form side is segments/builder.py)."""

import json

from segments.builder import (
    DATE_OP_LABELS,
    EMPTY_RULES,
    MAX_DEPTH,
    NEW,
    OP_LABELS,
    TYPE_LABELS,
    Type,
    Types,
    _allowed,
    _children,
    _is_group,
    _list,
    condition_fields,
    dom_id,
    ops_for,
    prefix_of,
)


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
    node = {
        "is_group": False,
        "prefix": prefix,
        "id": dom_id(prefix),
        "path": path,
        "number": _number_label(path),
        "kind": kind,
        "fields": fields,
        "error": context["errors"].get(path, ""),
        "note": context["notes"].get(path, ""),
        "focus": _focus(prefix, context),
    }
    types = context["types"]
    if kind == "property":
        node.update(_comparison(fields, "", types.profile.get(fields.get("name"))))
        node["suggest"] = _suggest("values", f"{prefix}.", name=fields.get("name", ""))
    elif kind == "app_field":
        node.update(_comparison(fields, "", Type.STRING))
        node["type_label"] = ""
        node["suggest"] = _suggest("column", f"{prefix}.", field=fields.get("field", ""))
    elif kind == "geo":
        node["suggest"] = _suggest("column", f"{prefix}.", field=fields.get("field", ""))
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


def _comparison(fields, head, kind):
    """What a comparison's row draws: operators offered for the type, and the operands."""
    labels = DATE_OP_LABELS if kind == Type.DATE else OP_LABELS
    ops = ops_for(kind)
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
    return rest if rest and not rest[0].isdigit() else ""


def _number_label(path):
    return ".".join(str(int(part) + 1) for part in path.split(".")) if path else ""
