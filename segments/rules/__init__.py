"""Segment rules: a JSON tree, parsed into small typed objects (tree.py), turned
into one database query (compiler.py) or checked against one profile in Python
(matcher.py). Both are tested operator by operator and against each other."""

from segments.rules.tree import RuleError, parse

__all__ = ["RuleError", "parse"]
