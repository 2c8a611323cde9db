"""The Content-Security-Policy: every response carries it, and no template holds the inline
code it would refuse (tests/test_browser_csp.py opens each page in Chromium)."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from accounts import roles

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: https:",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'none'",
    "object-src": "'none'",
    "report-uri": "/csp-report/",
}

# What the policy refuses in a template: a <script> without src (a json_script data block
# is made by a filter, never typed), a <style> element, a style attribute, an inline event
# handler, a javascript: URL.
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+\s*=|javascript:",
    re.IGNORECASE,
)


def policy_of(response):
    header = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.mark.django_db
def test_the_login_page_carries_the_policy(client):
    assert policy_of(client.get("/login/")) == POLICY


def test_a_dashboard_page_an_sdk_answer_and_a_404_carry_the_policy(client_as):
    client = client_as(roles.ADMIN)
    assert policy_of(client.get("/settings/")) == POLICY
    assert policy_of(client.get("/sdk/v1/popups?siteKey=nope")) == POLICY
    assert policy_of(client.get("/no-such-page/")) == POLICY


def templates():
    folders = [Path(settings.BASE_DIR) / "templates", *Path(settings.BASE_DIR).glob("*/templates")]
    return sorted(path for folder in folders for path in folder.rglob("*.html"))


@pytest.mark.parametrize("path", templates(), ids=lambda path: str(path.relative_to(settings.BASE_DIR)))
def test_no_template_holds_inline_script_style_or_handlers(path):
    assert INLINE.findall(path.read_text(encoding="utf-8")) == []
