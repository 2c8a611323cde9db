"""A 403 is logged in one line (method, path, user id, reason), never with a traceback."""

import logging

from django.test import Client

from accounts import roles


def forbidden_records(caplog):
    return [record for record in caplog.records if getattr(record, "status_code", None) == 403]


def test_a_permission_denied_logs_one_line_without_a_traceback(client_as, caplog):
    client = client_as(roles.VIEWER)
    user_id = client.session["_auth_user_id"]
    with caplog.at_level(logging.INFO):
        assert client.post("/settings/users/1/role/", {"role": roles.ADMIN}).status_code == 403
    [record] = forbidden_records(caplog)
    assert record.getMessage() == f"Forbidden: POST /settings/users/1/role/ user={user_id} reason=permission denied"
    assert record.exc_info is None
    assert "Traceback" not in caplog.text


def test_a_csrf_failure_logs_one_line_with_its_reason(make_user, caplog):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(roles.ADMIN))
    with caplog.at_level(logging.INFO):
        assert client.post("/settings/sites/", {"name": "x"}).status_code == 403
    [record] = forbidden_records(caplog)
    user_id = client.session["_auth_user_id"]
    assert record.getMessage() == (f"Forbidden: POST /settings/sites/ user={user_id} reason=CSRF cookie not set.")
    assert record.exc_info is None


def test_an_anonymous_403_says_so(db, caplog):
    client = Client(enforce_csrf_checks=True)
    with caplog.at_level(logging.INFO):
        assert client.post("/login/").status_code == 403
    [record] = forbidden_records(caplog)
    assert record.getMessage() == "Forbidden: POST /login/ user=anonymous reason=CSRF cookie not set."


def test_a_403_answered_by_a_view_logs_one_line(db, caplog):
    body = '{"siteKey": "no-such-key"}'
    with caplog.at_level(logging.INFO):
        assert Client().post("/sdk/v1/events", body, content_type="text/plain").status_code == 403
    [record] = forbidden_records(caplog)
    assert record.getMessage() == "Forbidden: POST /sdk/v1/events user=anonymous reason=the view answered 403"


def test_logging_configured_twice_still_logs_the_reason_once(make_user, caplog):
    # A second logging.config.dictConfig() in one process (seen in the full suite) leaves
    # two filters on the logger; the second must not rewrite the first one's line.
    from accounts.forbidden import ForbiddenInOneLine

    logger = logging.getLogger("django.security.csrf")
    extra = ForbiddenInOneLine()
    logger.addFilter(extra)
    try:
        client = Client(enforce_csrf_checks=True)
        with caplog.at_level(logging.INFO):
            assert client.post("/login/").status_code == 403
    finally:
        logger.removeFilter(extra)
    [record] = forbidden_records(caplog)
    assert record.getMessage() == "Forbidden: POST /login/ user=anonymous reason=CSRF cookie not set."
