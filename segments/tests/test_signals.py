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
