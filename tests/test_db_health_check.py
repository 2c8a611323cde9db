"""A reused PostgreSQL connection is checked by its socket first (config/postgresql): no
``SELECT 1`` round trip per request while the server has nothing to say, and a connection
the server ended is still found unusable before a request uses it."""

import time

import pytest
from django.db import connection, connections
from django.db.backends.postgresql import base as django_postgresql

pytestmark = pytest.mark.django_db


@pytest.fixture
def other():
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL backend's check")
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def test_a_live_idle_connection_is_usable_without_a_query(other, monkeypatch):
    asked = []
    monkeypatch.setattr(django_postgresql.DatabaseWrapper, "is_usable", lambda self: asked.append(self) or True)
    assert other.is_usable()
    assert asked == []


def test_a_connection_the_server_ended_is_not_usable(other):
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    for _ in range(50):  # the server's goodbye arrives within moments
        if not other.is_usable():
            break
        time.sleep(0.02)
    assert not other.is_usable()
