"""The events roll-up (segments/actions/rollup.py, rules/rolled.py): counts of events in a
window read from it are exactly the counts of the events themselves — events before and
after the watermark, the partial UTC days at a window's edges, events moved to another
profile or deleted after they were rolled — and the compiler keeps agreeing with the
matcher when it reads it."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from segments.actions.rollup import roll_up_events
from segments.models import Event, EventDay, EventRollup, Profile
from segments.rules import parse
from segments.rules.compiler import profiles
from segments.rules.matcher import matches
from segments.tests.test_rules_agree import EXAMPLES, count, create, event, profile, window

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the roll-up is read on PostgreSQL; SQLite keeps the plain queries"
)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def counted(name, days, op="at_least", times=2, did=True, window=None):
    return {
        "match": "all",
        "conditions": [
            {
                "kind": "event",
                "event": name,
                "did": did,
                "count": {"op": op, "value": times},
                "window": window or {"type": "last_days", "days": days},
            }
        ],
    }


def rules_ever():
    return counted("Added To Cart", 0, "at_least", 1, window={"type": "ever"})


def selected(rules, now=NOW):
    return set(profiles(parse(rules), now=now).values_list("identity", flat=True))


def by_python(rules, now=NOW):
    tree = parse(rules)
    return {
        p.identity
        for p in Profile.objects.prefetch_related("devices", "events")
        if matches(tree, p, devices=list(p.devices.all()), events=list(p.events.all()), now=now)
    }


def add(person, name, at):
    return Event.objects.create(profile=person, name=name, occurred_at=at)


def rolled_as_events():
    """What the roll-up must hold: the events up to the watermark per profile, name and day."""
    mark = EventRollup.objects.get(pk=1).rolled_through
    return {
        (row["profile_id"], row["name"], row["day"]): row["n"]
        for row in Event.objects.filter(pk__lte=mark)
        .annotate(day=TruncDate("occurred_at", tzinfo=UTC))
        .values("profile_id", "name", "day")
        .annotate(n=Count("pk"))
    }


def roll_up():
    return {(r.profile_id, r.name, r.day): r.count for r in EventDay.objects.all()}


@postgresql_only
def test_counts_read_the_roll_up_and_add_the_events_after_the_watermark_and_the_edge_days(db):
    ana, bob, cy = (Profile.objects.create(identity=who) for who in ("ana", "bob", "cy"))
    start = NOW - timedelta(days=30)  # 2026-10-23 12:00 UTC: that day is partial
    # Ana: once just inside the window's first (partial) day, once on a whole day.
    add(ana, "Added To Cart", start + timedelta(minutes=1))
    add(ana, "Added To Cart", NOW - timedelta(days=10))
    # Bob: once just before the window starts, on the same UTC day, and once inside.
    add(bob, "Added To Cart", start - timedelta(minutes=1))
    add(bob, "Added To Cart", NOW - timedelta(days=3))
    # Cy: one rolled event, then one after the watermark.
    add(cy, "Added To Cart", NOW - timedelta(days=5))
    assert roll_up_events() == Event.objects.order_by("-pk").first().pk
    late = add(cy, "Added To Cart", NOW - timedelta(days=5, hours=1))  # the same day as the rolled one
    assert EventRollup.objects.get().rolled_through < late.pk

    rules = counted("Added To Cart", 30)
    with CaptureQueriesContext(connection) as sent:
        found = selected(rules)
    assert "segments_eventday" in sent.captured_queries[-1]["sql"]
    # Summed per profile from the roll-up's own GROUP BY, joined with the raw events' few
    # (a GROUP BY over the UNION ALL is estimated at 200 groups whatever the data).
    assert "FULL JOIN" in sent.captured_queries[-1]["sql"]
    assert found == by_python(rules) == {"ana", "cy"}
    # Exactly 2, at most 1, did not do it at all, and the whole history.
    assert selected(counted("Added To Cart", 30, "exactly", 2)) == {"ana", "cy"}
    assert (
        selected(counted("Added To Cart", 30, "at_most", 1))
        == {"bob"}
        == by_python(counted("Added To Cart", 30, "at_most", 1))
    )
    assert selected(counted("Added To Cart", 30, "at_least", 1, did=False)) == set()
    assert selected(counted("Added To Cart", 0, window={"type": "ever"})) == {"ana", "bob", "cy"}
    # A window of whole UTC days (between) has no partial days: Bob's early event is in.
    between = {"type": "between", "start": "2026-10-23", "end": "2026-11-22"}
    assert (
        selected(counted("Added To Cart", 0, window=between))
        == {"ana", "bob", "cy"}
        == by_python(counted("Added To Cart", 0, window=between))
    )
    # Beside another condition, counted per remaining profile (the same numbers).
    both = {"match": "all", "conditions": [*counted("Added To Cart", 30)["conditions"], *rules_ever()["conditions"]]}
    with CaptureQueriesContext(connection) as sent:
        found = selected(both)
    assert found == {"ana", "cy"} == by_python(both)
    assert "COALESCE((SELECT sum(n)" in sent.captured_queries[-1]["sql"]
    # Rolled again, the late event moves into the roll-up and nothing counts twice.
    roll_up_events()
    assert roll_up() == rolled_as_events()
    assert selected(counted("Added To Cart", 30, "exactly", 2)) == {"ana", "cy"}


@postgresql_only
def test_did_not_and_at_most_are_anti_joins_from_the_roll_up(db):
    """A negated list of ids (did not, at most N, exactly 0) is NOT EXISTS, which
    PostgreSQL plans as an anti-join, not NOT IN, a hashed sub-plan probed per profile
    on one core (rules/compiler.py Absent); the same people either way."""
    ana, bob, _ = (Profile.objects.create(identity=who) for who in ("ana", "bob", "cy"))
    add(ana, "Charged", NOW - timedelta(days=3))
    add(bob, "Charged", NOW - timedelta(days=3))
    add(bob, "Charged", NOW - timedelta(days=4))
    roll_up_events()
    add(ana, "Charged", NOW - timedelta(days=2))  # after the watermark
    for rules, people in (
        (counted("Charged", 30, did=False), {"cy"}),
        (counted("Charged", 30, "at_most", 1), {"cy"}),
        (counted("Charged", 30, "exactly", 0), {"cy"}),
    ):
        sql = str(profiles(parse(rules), now=NOW).query)
        assert "NOT EXISTS" in sql and "NOT (" not in sql, sql
        assert selected(rules) == by_python(rules) == people


@postgresql_only
def test_events_moved_or_deleted_after_the_roll_up_adjust_it(db):
    anonymous, known, gone = (Profile.objects.create(identity=who) for who in ("anon-1", "known", "gone"))
    for person in (anonymous, known, gone):
        add(person, "Added To Cart", NOW - timedelta(days=2))
        add(person, "Charged", NOW - timedelta(days=2))
    roll_up_events()
    late = add(anonymous, "Added To Cart", NOW - timedelta(days=2))  # after the watermark

    # identify's hand-over of an anonymous visitor (segments/actions/devices.py)
    Event.objects.filter(profile=anonymous).update(profile=known)
    anonymous.delete()
    gone.delete()
    assert roll_up() == rolled_as_events()
    assert roll_up()[(known.pk, "Added To Cart", (NOW - timedelta(days=2)).date())] == 2  # the late one is not rolled
    assert not EventDay.objects.filter(profile_id__in=[anonymous.pk, gone.pk]).exists()
    rules = counted("Added To Cart", 30, "exactly", 3)
    assert selected(rules) == by_python(rules) == {"known"}
    assert late.pk > EventRollup.objects.get().rolled_through


@postgresql_only
def test_the_roll_up_runs_in_batches_and_twice_counts_once(db):
    person = Profile.objects.create(identity="ana")
    for days in range(7):
        add(person, "Page Viewed", NOW - timedelta(days=days))
    last = Event.objects.order_by("-pk").first().pk
    assert roll_up_events(batch=3) == last
    assert roll_up_events() == last
    assert roll_up() == rolled_as_events()
    assert sum(roll_up().values()) == 7


@postgresql_only
def test_the_roll_up_waits_for_no_one_behind_a_long_writer(transactional_db):
    """A transaction still writing events holds the table: the round is skipped, not queued."""
    import threading

    person = Profile.objects.create(identity="ana")
    writing, done = threading.Event(), threading.Event()

    def writer():
        with transaction.atomic():
            add(person, "Page Viewed", NOW)
            writing.set()
            done.wait(10)
        connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        writing.wait(10)
        assert roll_up_events() is None
    finally:
        done.set()
        thread.join()
    assert roll_up_events() is not None
    assert roll_up() == rolled_as_events() != {}


def test_sqlite_keeps_the_plain_queries(db):
    if connection.vendor != "sqlite":
        pytest.skip("the embedded mode only")
    Profile.objects.create(identity="ana")
    assert roll_up_events() is None
    with CaptureQueriesContext(connection) as sent:
        selected(counted("Added To Cart", 30))
    assert "segments_eventday" not in sent.captured_queries[-1]["sql"]


@pytest.mark.django_db(transaction=True)
def test_the_migration_applies_and_reverses(django_db_blocker):
    """On PostgreSQL with its trigger, on SQLite without one."""
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([("segments", "0008_app_version_prefix_index")])
        assert "segments_eventday" not in connection.introspection.table_names()
        MigrationExecutor(connection).migrate([("segments", "0009_event_rollup")])
        assert "segments_eventday" in connection.introspection.table_names()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'segments_event_rollup_%%'")
                assert cursor.fetchone()[0] == 2
    finally:
        MigrationExecutor(connection).migrate(latest)


# The compiler with the roll-up against the matcher: each person's events split into
# those rolled up and those after the watermark.
@postgresql_only
@pytest.mark.timeout(900)  # 200 examples of a few dozen rows each: minutes on a loaded machine
@EXAMPLES
@given(
    people=st.lists(
        st.tuples(profile, st.lists(event, min_size=1, max_size=6), st.lists(event, max_size=3)).map(
            lambda p: {**p[0], "events": p[1], "late": p[2]}
        ),
        min_size=3,
        max_size=6,
    ),
    rules=st.lists(
        st.builds(
            lambda name, did, n, w: {"kind": "event", "event": name, "did": did, "count": n, "window": w},
            st.sampled_from(["Added To Cart", "Charged"]),
            st.booleans(),
            count,
            window,
        ),
        min_size=1,
        max_size=3,
    ).flatmap(lambda cs: st.sampled_from(["all", "any", "none"]).map(lambda m: {"match": m, "conditions": cs})),
)
def test_the_compiler_reading_the_roll_up_agrees_with_the_matcher(db, people, rules):
    with transaction.atomic():
        for index, data in enumerate(people):
            create(index, data)
        roll_up_events()
        for index, data in enumerate(people):
            person = Profile.objects.get(identity=f"p{index}")
            for e in data["late"]:
                add(person, e["name"], NOW - timedelta(hours=e["hours_ago"]))
        assert selected(rules) == by_python(rules), rules
        transaction.set_rollback(True)
