"""Making, filling, starting, pausing and stopping a dispatch."""

from datetime import UTC, datetime

import pytest

from delivery.actions.dispatches import (
    counts,
    do_create_dispatch,
    do_enqueue,
    do_pause,
    do_resume,
    do_start,
    do_stop,
)
from delivery.models import Dispatch, Message
from delivery.tasks import send_batch
from segments.models import Device, Profile

pytestmark = pytest.mark.django_db

LATER = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def devices():
    profile = Profile.objects.create(identity="p1")
    return [
        Device.objects.create(
            profile=profile, platform="web", endpoint=f"https://push.example/{i}", push_status="allowed"
        )
        for i in range(5)
    ]


@pytest.fixture
def dispatch():
    return do_create_dispatch(channel="web_push", label="Spring sale, run 1", contents={"A": {"title": "Hi"}})


def rows(devices, variant="A"):
    return [(d.profile_id, d.pk, variant) for d in devices]


def test_a_new_dispatch_is_open_with_its_contents_and_rules():
    dispatch = do_create_dispatch(
        channel="web_push", label="Run", contents={"A": {"title": "Hi"}}, rules={"ttl": 60}, is_test=True
    )

    assert (dispatch.status, dispatch.contents, dispatch.rules, dispatch.is_test) == (
        "open",
        {"A": {"title": "Hi"}},
        {"ttl": 60},
        True,
    )


@pytest.mark.parametrize("rules", [{"cutoff": "2026-03-10T11:00:00"}, {"dnd": {"start": "25:00", "end": "09:00"}}])
def test_malformed_rules_are_refused_when_the_dispatch_is_made(rules):
    with pytest.raises(ValueError):
        do_create_dispatch(channel="web_push", label="Run", contents={}, rules=rules)
    assert not Dispatch.objects.exists()


def test_enqueue_skips_devices_already_in_the_dispatch_and_says_how_many_it_added(dispatch, devices):
    assert do_enqueue(dispatch, rows(devices[:3])) == 3
    assert do_enqueue(dispatch, rows(devices)) == 2
    assert Message.objects.filter(dispatch=dispatch).count() == 5


def test_enqueue_takes_a_generator_in_chunks_and_holds_rows_with_a_not_before(dispatch, devices, monkeypatch):
    monkeypatch.setattr("delivery.actions.dispatches.CHUNK", 2)
    given = (row + ((LATER,) if i == 0 else ()) for i, row in enumerate(rows(devices, "B")))

    assert do_enqueue(dispatch, given) == 5

    held = Message.objects.get(dispatch=dispatch, device=devices[0])
    assert (held.status, held.not_before, held.variant) == ("held", LATER, "B")
    assert counts(dispatch) == {"queued": 4, "sending": 0, "sent": 0, "failed": 0, "held": 1, "dropped": 0}


def test_start_queues_send_tasks_only_when_the_transaction_commits(
    dispatch, devices, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(send_batch, "delay", lambda *args: queued.append(args))
    do_enqueue(dispatch, rows(devices))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        do_start(dispatch)
        assert queued == []
    for callback in callbacks:
        callback()

    assert dispatch.status == "sending" and dispatch.started_at is not None
    assert queued == [(dispatch.pk,)]


def test_start_twice_queues_once(dispatch, devices, monkeypatch, django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(send_batch, "delay", lambda *args: queued.append(args))
    do_enqueue(dispatch, rows(devices))

    with django_capture_on_commit_callbacks(execute=True):
        do_start(dispatch)
        do_start(dispatch)

    assert len(queued) == 1


def test_pause_resume_and_stop(dispatch, devices, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(send_batch, "delay", lambda *args: None)
    do_enqueue(dispatch, rows(devices[:4]))
    do_enqueue(dispatch, [(devices[4].profile_id, devices[4].pk, "A", LATER)])
    with django_capture_on_commit_callbacks(execute=True):
        do_start(dispatch)

    assert do_pause(dispatch).status == "paused"
    assert do_resume(dispatch).status == "sending"
    stopped = do_stop(dispatch, "stopped")

    assert (stopped.status, stopped.finished_at is not None) == ("stopped", True)
    assert set(Message.objects.filter(dispatch=dispatch).values_list("status", "code")) == {("dropped", "stopped")}
    assert counts(dispatch)["dropped"] == 5


def test_counts_are_per_dispatch(dispatch, devices):
    other = do_create_dispatch(channel="web_push", label="Other", contents={})
    do_enqueue(dispatch, rows(devices[:2]))
    do_enqueue(other, rows(devices))

    assert counts(dispatch)["queued"] == 2
    assert counts(other)["queued"] == 5
