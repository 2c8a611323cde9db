"""Numbers from clients are read by accounts.params alone.

``str.isdigit()``, ``isnumeric()`` and ``isdecimal()`` are true for "²", "٣" and other
characters that ``int()`` refuses or that make a thousand-digit number, so a check with
them followed by ``int()`` is a 500 waiting for its client. accounts/params.py asks once,
right; everything else calls it (``positive_int``, ``index``, ``int_between``,
``is_digits``)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "segments", "delivery", "campaigns", "stats", "config")
THE_PARSER = ROOT / "accounts" / "params.py"
DIGIT_CHECKS = {"isdigit", "isnumeric", "isdecimal"}


def production_modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts or path == THE_PARSER:
                continue
            yield path


def digit_checks(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in DIGIT_CHECKS:
            yield f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}()"


def test_the_scan_finds_production_modules_of_every_app():
    scanned = {path.relative_to(ROOT).parts[0] for path in production_modules()}
    assert scanned == set(APPS)


def test_no_production_code_outside_accounts_params_asks_a_string_whether_it_is_digits():
    found = [check for path in production_modules() for check in digit_checks(path)]
    assert found == [], "use accounts.params (positive_int, index, int_between, is_digits):\n" + "\n".join(found)
