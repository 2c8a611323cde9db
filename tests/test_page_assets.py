"""Pages load their stylesheets and scripts in <head> (base.html's head block), and page
scripts initialise through app.js's Dashboard.widget, never a window.* run-once flag."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted(
    path
    for path in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")]
    # The demo site is a customer's page, not the dashboard.
    if "demo" not in path.relative_to(ROOT).parts and ".venv" not in path.parts
)
ASSET = re.compile(r"<link\b[^>]*rel=\"?stylesheet|<script\b[^>]*\bsrc=", re.IGNORECASE)
HEAD_BLOCK = re.compile(r"{%\s*block head\s*%}.*?{%\s*endblock", re.DOTALL)
HEAD = re.compile(r"<head>.*?</head>", re.DOTALL | re.IGNORECASE)
# A script that guards itself against running twice: if (window.x) … / window.x = true.
RUN_ONCE = re.compile(r"if\s*\(\s*!?\s*window\.\w+\s*\)|window\.\w+\s*=\s*(true|1|start)\b")


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_loads_a_stylesheet_or_script_outside_the_head(path):
    text = HEAD.sub("", HEAD_BLOCK.sub("", path.read_text()))
    assert ASSET.findall(text) == []


def test_no_dashboard_script_guards_itself_with_a_window_flag():
    scripts = sorted((ROOT / "static" / "js").glob("**/*.js"))
    assert scripts
    flagged = {str(p.relative_to(ROOT)): RUN_ONCE.findall(p.read_text()) for p in scripts}
    assert {name: found for name, found in flagged.items() if found} == {}
