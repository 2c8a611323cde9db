"""Schemathesis generates requests from /api/openapi.json, valid and invalid, and
the API must answer none of them with a server error."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from segments.actions.keys import create_api_key

# Fetching the document is an API call the rate limit counts; in the embedded mode
# (CACHE_URL=db://) its counters live in the database, which collection may not touch.
with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


@pytest.fixture
def auth_header(db):
    # Calls go through the WSGI app in this process; like Django's test client, keep
    # the test's database connection open across them.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    _, key = create_api_key("schemathesis", rate_per_minute=1_000_000)
    yield {"Authorization": f"Bearer {key}"}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_never_answers_with_a_server_error(case, auth_header):
    case.call_and_validate(
        headers=auth_header,
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
