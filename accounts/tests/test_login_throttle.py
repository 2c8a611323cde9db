"""Login throttling (django-axes, accounts/throttle.py): per username across addresses,
per address across usernames, on the dashboard's and the Django admin's login pages."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from accounts import roles
from conftest import PASSWORD

START = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.fixture
def mia(make_user):
    return make_user(roles.ADMIN, username="mia")


def log_in(path, username, password, address="10.0.0.1", **extra):
    return Client(REMOTE_ADDR=address, **extra).post(path, {"username": username, "password": password})


def fail(times, path="/login/", username="mia", address="10.0.0.1"):
    for _ in range(times):
        log_in(path, username, "wrong-guess", address)


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_six_wrong_passwords_then_the_right_one_is_refused_with_the_time_to_wait(mia, path):
    with time_machine.travel(START, tick=False):
        fail(6, path)
    with time_machine.travel(START + timedelta(minutes=1), tick=False):
        response = log_in(path, "mia", PASSWORD)
    assert response.status_code == 429
    assert response["Retry-After"] == str(14 * 60)
    assert b"Too many failed attempts for this account or address; try again in 14 minutes" in response.content
    assert b"Log out" not in response.content  # not logged in
    assert "_auth_user_id" not in response.wsgi_request.session


def test_the_lock_lifts_when_the_cool_off_has_passed(mia):
    with time_machine.travel(START, tick=False):
        fail(5)
    with time_machine.travel(START + timedelta(minutes=15, seconds=1), tick=False):
        response = log_in("/login/", "mia", PASSWORD)
    assert response.status_code == 302


def test_another_address_is_still_refused_for_the_locked_username(mia):
    # An attacker rotates addresses, so the count per username spans all of them.
    with time_machine.travel(START, tick=False):
        for address in ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"]:
            fail(1, address=address)
        response = log_in("/login/", "mia", PASSWORD, address="192.0.2.9")
    assert response.status_code == 429


def test_an_address_that_guessed_at_many_usernames_is_refused_for_any(mia, settings):
    with time_machine.travel(START, tick=False):
        for number in range(settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS):
            fail(1, username=f"guess-{number}")
        refused = log_in("/login/", "mia", PASSWORD)
        elsewhere = log_in("/login/", "mia", PASSWORD, address="192.0.2.9")
    assert refused.status_code == 429
    assert elsewhere.status_code == 302


def test_an_office_with_a_few_typos_is_not_locked_out(make_user, settings):
    make_user(roles.MARKETER, username="tom")
    with time_machine.travel(START, tick=False):
        for number in range(settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS - 1):
            fail(1, username=f"typo-{number}")
        assert log_in("/login/", "tom", PASSWORD).status_code == 302


def test_a_successful_login_before_the_limit_resets_the_count(mia):
    with time_machine.travel(START, tick=False):
        fail(4)
        assert log_in("/login/", "mia", PASSWORD).status_code == 302
        fail(4)
        assert log_in("/login/", "mia", PASSWORD).status_code == 302


def test_an_unknown_username_is_locked_out_like_a_real_one(db):
    # The lockout page must not tell a guesser which usernames exist.
    with time_machine.travel(START, tick=False):
        fail(5, username="nobody")
        unknown = log_in("/login/", "nobody", PASSWORD)
    assert unknown.status_code == 429
    assert b"nobody" not in unknown.content


def test_the_lockout_is_logged_in_one_line_without_the_password(mia, caplog):
    with caplog.at_level(logging.INFO), time_machine.travel(START, tick=False):
        fail(4)
        caplog.clear()
        log_in("/login/", "mia", "hunter2-secret")
        log_in("/login/", "mia", PASSWORD)  # refused while locked: no second lockout line
    lines = [r.getMessage() for r in caplog.records if "locked" in r.getMessage().lower()]
    assert lines == [
        "Login locked for 15 minutes: username='mia' address=10.0.0.1 (5 failed attempts for this username)"
    ]
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert "hunter2-secret" not in everything
    assert PASSWORD not in everything


def test_behind_a_proxy_the_address_is_the_last_forwarded_one(mia, settings):
    settings.BEHIND_TLS_PROXY = True
    with time_machine.travel(START, tick=False):
        for number in range(settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS):
            # The client writes what it likes first; our proxy appends what it saw.
            forwarded = f"198.51.100.{number}, 10.9.9.9"
            log_in("/login/", f"guess-{number}", "x", address="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
        refused = log_in("/login/", "mia", PASSWORD, address="127.0.0.1", HTTP_X_FORWARDED_FOR="10.9.9.9")
        other = log_in("/login/", "mia", PASSWORD, address="127.0.0.1", HTTP_X_FORWARDED_FOR="10.9.9.8")
    assert refused.status_code == 429
    assert other.status_code == 302


def test_a_forwarded_address_that_is_no_address_counts_as_the_proxy(mia, settings):
    settings.BEHIND_TLS_PROXY = True
    response = log_in("/login/", "mia", "wrong", address="127.0.0.1", HTTP_X_FORWARDED_FOR="10.0.0.1, not-an-address")
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
