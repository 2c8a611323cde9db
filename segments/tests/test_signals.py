import contextlib

import pytest
from django.db import transaction

from segments.actions.ingest import record_events
from segments.models import Event
from segments.schemas import EventIn
from segments.signals import events_recorded


@pytest.fixture
def received():
    calls = []

    def receiver(sender, event_ids, **kwargs):
        calls.append(event_ids)

    events_recorded.connect(receiver)
    yield calls
    events_recorded.disconnect(receiver)


def test_it_sends_the_new_event_ids_after_the_commit(db, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record_events([EventIn(identity="u1", name="Added to cart"), EventIn(identity="u2", name="Charged")])
    assert received == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert received == [list(Event.objects.order_by("pk").values_list("pk", flat=True))]
    assert len(received[0]) == 2


def test_it_sends_nothing_when_the_transaction_rolls_back(db, received, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        contextlib.suppress(RuntimeError),
        transaction.atomic(),
    ):
        record_events([EventIn(identity="u1", name="Added to cart")])
        raise RuntimeError("the request failed after storing the event")
    assert callbacks == []
    assert received == []
    assert not Event.objects.exists()


def test_the_fan_out_is_found_where_segments_tasks_was_never_imported(
    db, received, monkeypatch, django_capture_on_commit_callbacks
):
    """A management command or a shell records events in a process that has not imported
    segments.tasks (a worker imports every app's tasks, the web its URLs): the fan-out's
    publish found no such task there (celery NotRegistered) once the events were stored."""
    import sys

    from celery import current_app

    monkeypatch.delitem(sys.modules, "segments.tasks", raising=False)
    for name in [name for name in current_app.tasks if name.startswith("segments.tasks.")]:
        monkeypatch.delitem(current_app.tasks, name)
    with django_capture_on_commit_callbacks(execute=True):
        record_events([EventIn(identity="u1", name="Added to cart")])
    assert len(received) == 1
    assert "segments.tasks.fan_out" in current_app.tasks
