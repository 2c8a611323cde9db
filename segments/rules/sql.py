"""Typed reads of JSON properties, the same on PostgreSQL and SQLite.

A property read as a number is NULL unless it holds a JSON number, as text NULL
unless it holds a JSON string, and so on: "price > 10" never compares a string
with a number (PostgreSQL's jsonb order would call every string smaller than
every number). The matcher applies the same rule in Python.
"""

import json
import re

from django.db.models import BooleanField, Expression, F, FloatField, TextField

POSTGRESQL = {
    # jsonb keeps a number as numeric, of any size, and it is compared as one (with a
    # Number bound): exact, as Python compares in the matcher, and never out of range.
    # A cast to double precision refused a 400-digit integer stored in one profile
    # ("out of range for type double precision"), failing every segment that compared
    # that property. Reading numeric is no slower: "> 500" over 500,000 profiles took
    # 186 ms against 199 ms through double precision (best of 7, 2026-12-07).
    "number": "CASE WHEN jsonb_typeof({col} -> {key}) = 'number' THEN ({col} -> {key})::numeric END",
    "text": "CASE WHEN jsonb_typeof({col} -> {key}) = 'string' THEN ({col} ->> {key}) END",
    "boolean": "CASE WHEN jsonb_typeof({col} -> {key}) = 'boolean' THEN ({col} ->> {key})::boolean END",
    "present": "COALESCE(jsonb_typeof({col} -> {key}) <> 'null', false)",
}
# SQLite JSON paths quote the key (see as_sqlite), so any character may be in a name.
SQLITE = {
    # SQLite reads a number too big for a double as ±Inf: never an error, and on the
    # right side of any rule's bound (segments.numbers.LIMIT).
    "number": "CASE WHEN json_type({col}, {key}) IN ('integer', 'real') THEN json_extract({col}, {key}) END",
    "text": "CASE WHEN json_type({col}, {key}) = 'text' THEN json_extract({col}, {key}) END",
    "boolean": "CASE WHEN json_type({col}, {key}) IN ('true', 'false') THEN json_extract({col}, {key}) END",
    "present": "COALESCE(json_type({col}, {key}) <> 'null', 0)",
}


class JsonValue(Expression):
    """The value of ``key`` in the JSON column ``column`` when it is of ``kind``
    ("number", "text" or "boolean"), else NULL. ``kind="present"`` is true when
    the key holds any non-null value, and is never NULL."""

    OUTPUT = {"number": FloatField, "text": TextField, "boolean": BooleanField, "present": BooleanField}

    def __init__(self, column, key, kind):
        super().__init__(output_field=self.OUTPUT[kind]())
        self.column = column if hasattr(column, "resolve_expression") else F(column)
        self.key = key
        self.kind = kind

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def _render(self, template, compiler, key):
        column_sql, column_params = compiler.compile(self.column)
        sql, params = [], []
        for part in re.split(r"(\{col\}|\{key\})", template):
            if part == "{col}":
                sql.append(column_sql)
                params.extend(column_params)
            elif part == "{key}":
                sql.append("%s")
                params.append(key)
            else:
                sql.append(part)
        return "".join(sql), params

    def as_postgresql(self, compiler, connection):
        return self._render(POSTGRESQL[self.kind], compiler, self.key)

    def as_sqlite(self, compiler, connection):
        return self._render(SQLITE[self.kind], compiler, f"$.{json.dumps(self.key)}")

    def as_sql(self, compiler, connection):
        raise NotImplementedError(f"segment rules support PostgreSQL and SQLite, not {connection.vendor}")


class Number(Expression):
    """A rule's number, to compare with a "number" JsonValue: on PostgreSQL a numeric
    made from the number's shortest decimal form (what JSON stores for a float, so
    0.1 is 0.1, not the double nearest it), elsewhere the number itself."""

    output_field = FloatField()

    def __init__(self, value):
        super().__init__()
        self.value = value

    def as_postgresql(self, compiler, connection):
        return "%s::numeric", [repr(self.value)]

    def as_sql(self, compiler, connection):
        return "%s", [self.value]


class JsonListHolds(Expression):
    """True where the JSON column ``column`` is a list with the string ``value`` among
    its items (a device's push categories); never NULL. On PostgreSQL containment,
    ``column @> '["value"]'``; on SQLite a search of json_each. Anything but a list
    holds nothing, as in the matcher."""

    output_field = BooleanField()

    def __init__(self, column, value):
        super().__init__()
        self.column = column if hasattr(column, "resolve_expression") else F(column)
        self.value = value

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_postgresql(self, compiler, connection):
        column_sql, params = compiler.compile(self.column)
        # A string or an object never contains a list (only the reverse is allowed).
        return f"({column_sql} @> %s::jsonb)", [*params, json.dumps([self.value])]

    def as_sqlite(self, compiler, connection):
        column_sql, params = compiler.compile(self.column)
        # The column as Django compiled it; the category is a parameter.
        found = f"EXISTS (SELECT 1 FROM json_each({column_sql}) AS item WHERE item.type = 'text' AND item.value = %s)"  # noqa: S608
        return f"(json_type({column_sql}) = 'array' AND {found})", [*params, *params, self.value]

    def as_sql(self, compiler, connection):
        raise NotImplementedError(f"segment rules support PostgreSQL and SQLite, not {connection.vendor}")
