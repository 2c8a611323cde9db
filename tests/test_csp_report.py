"""/csp-report/, where browsers report what the Content-Security-Policy refused: public, so
bounded, rate-limited per address, and answered 4xx for anything but a report."""

import json
import logging

import pytest
from django.core.cache import cache

from config import csp_report

pytestmark = pytest.mark.django_db

REPORT = {
    "csp-report": {
        "document-uri": "https://clarion.example.com/campaigns/",
        "violated-directive": "style-src-elem",
        "effective-directive": "style-src-elem",
        "blocked-uri": "inline",
        "source-file": "https://clarion.example.com/static/js/x.js",
        "line-number": 12,
        "original-policy": "default-src 'self'",
    }
}


@pytest.fixture(autouse=True)
def fresh_counters():
    # Before and after: a full counter for 127.0.0.1 would hold back the next test's reports.
    cache.clear()
    yield
    cache.clear()


def post(client, body, content_type="application/csp-report", **extra):
    return client.post("/csp-report/", body, content_type=content_type, **extra)


def test_the_policy_names_the_report_address(client):
    assert "report-uri /csp-report/" in client.get("/login/").headers["Content-Security-Policy"]


def test_a_report_is_logged_on_one_line_and_answered_204(client, caplog):
    with caplog.at_level(logging.WARNING, logger="clarion.csp"):
        response = post(client, json.dumps(REPORT))
    assert response.status_code == 204
    [record] = caplog.records
    line = record.getMessage()
    assert "\n" not in line
    assert "document-uri='https://clarion.example.com/campaigns/'" in line
    assert "effective-directive='style-src-elem'" in line
    assert "line-number='12'" in line
    assert "original-policy" not in line  # ours, and long: not worth a log line


def test_a_forged_report_cannot_break_the_log_line_or_fill_it(client, caplog):
    report = {"csp-report": {"document-uri": "x\nFAKE 500 line" + "a" * 5000, "blocked-uri": {"deep": [1, 2]}}}
    with caplog.at_level(logging.WARNING, logger="clarion.csp"):
        assert post(client, json.dumps(report)).status_code == 204
    [record] = caplog.records
    line = record.getMessage()
    assert "\n" not in line
    assert len(line) < 1500
    assert "blocked-uri=''" in line  # not a string or a number: left out


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "csp-report"),
        ('{"csp-report": "x"}', "csp-report"),
        ('{"other": {}}', "csp-report"),
        ('{"csp-report": {"line-number": NaN}}', "not JSON"),
        ("[" * 3000 + "]" * 3000, "not JSON"),
        ('{"csp-report": {}}\u0000', "not JSON"),
        (b'{"csp-report": {"blocked-uri": "\xff"}}', "not JSON"),
    ],
    ids=["text", "a list", "a string report", "no report", "NaN", "deep", "NUL", "not UTF-8"],
)
def test_anything_but_a_report_is_answered_400_naming_the_problem(client, body, detail):
    response = post(client, body)
    assert response.status_code == 400
    assert detail in response.json()["detail"]


def test_a_body_over_the_bound_is_413_before_it_is_read(client):
    response = post(client, json.dumps({"csp-report": {"document-uri": "a" * csp_report.MAX_BODY_BYTES}}))
    assert response.status_code == 413


def test_only_post_is_answered(client):
    response = client.get("/csp-report/")
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_one_address_is_limited_and_told_when_to_retry(client, settings):
    limit = int(csp_report.RATE.split("/")[0])
    for _ in range(limit):
        assert post(client, json.dumps(REPORT)).status_code == 204
    response = post(client, json.dumps(REPORT))
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    # Another address is not held back by the first one's reports.
    assert post(client, json.dumps(REPORT), REMOTE_ADDR="192.0.2.7").status_code == 204
