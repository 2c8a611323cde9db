"""record_events: events of known people in one statement (PostgreSQL), the rest in one
transaction; the same answers either way and in the embedded mode (SQLite)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from segments.actions.ingest import record_events
from segments.actions.properties import forget_cache, note_properties
from segments.models import Event, Profile, PropertyDefinition
from segments.schemas import EventIn

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def event(identity, name="Viewed", **properties):
    return EventIn(identity=identity, name=name, properties=properties)


@pytest.fixture(autouse=True)
def _registry():
    forget_cache()
    yield
    forget_cache()


def known_names(*names):
    note_properties(PropertyDefinition.Scope.EVENT, [dict.fromkeys(names, 1)], event_name="Viewed")


@pytest.mark.django_db
def test_a_batch_with_one_unknown_person_stores_every_event_once_and_makes_the_profile():
    Profile.objects.create(identity="ada")
    known_names("page")
    assert record_events([event("ada", page="/"), event("bob", page="/a"), event("ada", page="/b")]) == (3, 1)
    stored = list(Event.objects.order_by("pk").values_list("profile__identity", "properties"))
    assert stored == [("ada", {"page": "/"}), ("bob", {"page": "/a"}), ("ada", {"page": "/b"})]


@pytest.mark.django_db
def test_events_of_known_people_keep_the_order_they_were_sent_in():
    for identity in ("ada", "bob"):
        Profile.objects.create(identity=identity)
    known_names("n")
    batch = [event(identity, n=n) for n, identity in enumerate(["bob", "ada", "bob", "ada", "ada"])]
    assert record_events(batch) == (5, 0)
    assert [e.properties["n"] for e in Event.objects.order_by("pk")] == [0, 1, 2, 3, 4]


@pytest.mark.django_db
def test_a_known_person_is_marked_seen_once_a_minute():
    ada = Profile.objects.create(identity="ada", last_seen_at=NOW - timedelta(minutes=5))
    known_names("page")
    with time_machine.travel(NOW, tick=False):
        record_events([event("ada", page="/")])
    ada.refresh_from_db()
    assert ada.last_seen_at == NOW
    with time_machine.travel(NOW + timedelta(seconds=30), tick=False):
        record_events([event("ada", page="/")])
    ada.refresh_from_db()
    assert ada.last_seen_at == NOW  # within the minute: not written again


@pytest.mark.django_db
def test_a_new_property_name_of_a_known_person_joins_the_registry():
    Profile.objects.create(identity="ada")
    record_events([event("ada", price=9.5)])
    assert PropertyDefinition.objects.filter(event_name="Viewed", name="price", type="number").exists()
    assert Event.objects.get().properties == {"price": 9.5}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement path is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_single_event_of_a_known_person_is_one_statement_that_commits_on_its_own():
    Profile.objects.create(identity="ada")
    known_names("page")
    statements = []

    def watch(execute, sql, params, many, context):
        statements.append((sql, connection.get_autocommit()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        assert record_events([event("ada", page="/")]) == (1, 0)
    assert len(statements) == 1, statements
    assert statements[0][1] is True  # autocommit: no BEGIN and COMMIT around it
    assert Event.objects.filter(profile__identity="ada").count() == 1
