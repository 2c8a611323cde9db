"""A page view's identify reads only what it decides with (segments.actions.devices):
Django compiled and read the device's and the profile's 46 columns on every call, about
0.5 ms of CPU of a request that costs 2-3 (bench/sdk.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from segments.tests.test_request_queries import identify, site  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_a_page_view_selects_eight_columns(client, site):  # noqa: F811
    identify(site)(client)
    with CaptureQueriesContext(connection) as queries:
        response = identify(site)(client)
    assert response.status_code == 200, response.content
    assert "push_status" in response.json()
    reads = [q["sql"] for q in queries.captured_queries if "segments_device" in q["sql"]]
    assert len(reads) == 1
    columns = reads[0].split("FROM")[0]
    assert "p256dh" not in columns and "email" not in columns
    # The device's id and profile id, its browser, user agent, last seen and push status, its
    # person's identity and last seen (segments.actions.devices, one written SELECT).
    assert columns.count(",") + 1 == 8
