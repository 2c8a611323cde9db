"""Views and clicks, recorded once per message, from the service worker, the apps and links."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse

from config.celery import app as celery_app
from delivery.models import Message
from segments.actions.keys import create_api_key
from segments.models import Site
from stats.actions import tracking
from stats.actions.events import do_track_events
from stats.actions.rollup import do_roll_up
from stats.actions.tracking import CLICKED, VIEWED, do_record_engagement, message_id_of
from stats.models import RollUp
from stats.tests import factory as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent():
    """A sent message of a campaign run, and its profile."""
    run = f.run(f.campaign())
    return f.message(run)


def test_a_view_sets_viewed_at_once_and_a_repeated_report_changes_nothing(sent):
    first, later = f.T0 + timedelta(seconds=5), f.T0 + timedelta(minutes=5)
    assert do_record_engagement(sent.pk, "viewed", first, profile_id=sent.profile_id) is True
    assert do_record_engagement(sent.pk, "viewed", later, profile_id=sent.profile_id) is False
    sent.refresh_from_db()
    assert sent.viewed_at == first
    assert sent.clicked_at is None


def test_a_view_recorded_by_another_batch_meanwhile_is_not_overwritten(sent):
    # Two batches read the message before either writes: the second one's UPDATE must
    # find the time already set and change nothing (the null check in the statement).
    first, later = f.T0 + timedelta(seconds=5), f.T0 + timedelta(minutes=5)
    Message.objects.filter(pk=sent.pk).update(viewed_at=first)
    assert tracking._set_once("viewed_at", {sent.pk: later}) == 0
    sent.refresh_from_db()
    assert sent.viewed_at == first


def test_a_click_implies_a_view_when_the_view_report_never_came(sent):
    at = f.T0 + timedelta(minutes=1)
    assert do_record_engagement(sent.pk, "clicked", at, profile_id=sent.profile_id) is True
    sent.refresh_from_db()
    assert (sent.viewed_at, sent.clicked_at) == (at, at)


def test_a_click_after_a_view_keeps_the_view_time(sent):
    viewed, clicked = f.T0 + timedelta(seconds=3), f.T0 + timedelta(minutes=2)
    do_record_engagement(sent.pk, "viewed", viewed)
    do_record_engagement(sent.pk, "clicked", clicked)
    assert do_record_engagement(sent.pk, "clicked", clicked + timedelta(minutes=1)) is False
    sent.refresh_from_db()
    assert (sent.viewed_at, sent.clicked_at) == (viewed, clicked)


def test_a_report_from_another_profile_is_not_counted(sent):
    stranger = f.profile()
    assert do_record_engagement(sent.pk, "viewed", f.T0, profile_id=stranger.pk) is False
    sent.refresh_from_db()
    assert sent.viewed_at is None


def test_a_report_from_the_profile_now_holding_the_device_counts(sent):
    """The browser identified as someone else after the send: its device moved with it."""
    other = f.profile()
    sent.device.profile = other
    sent.device.save()
    assert do_record_engagement(sent.pk, "viewed", f.T0, profile_id=other.pk) is True


def test_a_report_for_an_unknown_message_is_ignored(db):
    assert do_record_engagement(987654, "clicked", f.T0) is False


def test_message_ids_are_read_from_numbers_and_digit_strings_only():
    assert message_id_of({"message_id": "41"}) == 41
    assert message_id_of({"message_id": 41}) == 41
    assert message_id_of({"message_id": True}) is None
    assert message_id_of({"message_id": "41; drop"}) is None
    assert message_id_of({}) is None


def test_engagement_events_set_the_message_times_and_duplicates_count_once(sent):
    person = sent.profile
    events = [
        f.event(person, VIEWED, f.T0 + timedelta(seconds=2), message_id=str(sent.pk)),
        f.event(person, VIEWED, f.T0 + timedelta(seconds=9), message_id=str(sent.pk)),
        f.event(person, CLICKED, f.T0 + timedelta(minutes=1), message_id=sent.pk),
        f.event(person, CLICKED, f.T0 + timedelta(minutes=3), message_id=sent.pk),
    ]
    result = do_track_events([e.pk for e in events])
    assert result["engagements"] == 2  # one view, one click
    assert do_track_events([e.pk for e in events])["engagements"] == 0  # the task run twice
    sent.refresh_from_db()
    assert sent.viewed_at == f.T0 + timedelta(seconds=2)
    assert sent.clicked_at == f.T0 + timedelta(minutes=1)


def test_tracking_tells_the_roll_up_the_dispatch_changed(sent):
    do_roll_up()
    rollup = RollUp.objects.get(dispatch=sent.dispatch)
    assert rollup.changes == rollup.rolled_changes
    do_record_engagement(sent.pk, "clicked", f.T0)
    rollup.refresh_from_db()
    assert rollup.changes == rollup.rolled_changes + 1


@pytest.fixture
def eager():
    """Run queued tasks in this process, so a test can follow the signal through the task."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def test_the_service_worker_report_reaches_the_message_through_the_signal_and_task(
    client, sent, eager, django_capture_on_commit_callbacks
):
    site = Site.objects.create(name="Shop", allowed_origins=["https://shop.example.com"])
    sent.device.client_id = "c0ffee00-1111-4222-8333-444455556666"
    sent.device.save()
    body = {"siteKey": site.key, "clientId": sent.device.client_id, "message_id": str(sent.pk), "kind": "clicked"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("sdk:engagements"),
            json.dumps(body),
            content_type="text/plain",
            headers={"Origin": "https://shop.example.com"},
        )
    assert response.json() == {"recorded": True}
    sent.refresh_from_db()
    assert sent.clicked_at is not None
    assert sent.viewed_at == sent.clicked_at


def test_a_mobile_app_reports_through_the_events_api(client, eager, django_capture_on_commit_callbacks):
    run = f.run(f.campaign())
    person = f.profile()
    sent = f.message(run, person=person)
    _, key = create_api_key("app", rate_per_minute=1000)
    body = {
        "events": [
            {"identity": person.identity, "name": VIEWED, "properties": {"message_id": sent.pk}},
            {"identity": person.identity, "name": VIEWED, "properties": {"message_id": sent.pk}},
        ]
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/events",
            json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )
    assert response.status_code == 200, response.content
    sent.refresh_from_db()
    assert sent.viewed_at is not None
    assert Message.objects.filter(viewed_at__isnull=False).count() == 1


def engagement_events(*reports):
    """Events for (message, name, seconds after T0[, reporting profile])."""
    events = []
    for message, name, seconds, *reporter in reports:
        person = reporter[0] if reporter else message.profile
        events.append(f.event(person, name, f.T0 + timedelta(seconds=seconds), message_id=str(message.pk)))
    return [event.pk for event in events]


def engagements(*reports):
    """The tracking task's count of new views and clicks for those events."""
    return do_track_events(engagement_events(*reports))["engagements"]


def times(message):
    message.refresh_from_db()
    seconds = [None if at is None else (at - f.T0).total_seconds() for at in (message.viewed_at, message.clicked_at)]
    return tuple(seconds)


@pytest.fixture
def five():
    run = f.run(f.campaign())
    return [f.message(run) for _ in range(5)]


def test_a_batch_of_views_clicks_and_duplicates_records_the_earliest_of_each_once(five):
    only_viewed, only_clicked, viewed_then_clicked, viewed_twice, clicked_twice = five
    counted = engagements(
        (viewed_twice, VIEWED, 30),
        (only_viewed, VIEWED, 10),
        (viewed_then_clicked, CLICKED, 60),
        (viewed_twice, VIEWED, 20),  # earlier, though reported later in the batch
        (only_clicked, CLICKED, 40),
        (viewed_then_clicked, VIEWED, 5),
        (clicked_twice, CLICKED, 90),
        (clicked_twice, CLICKED, 80),
        (clicked_twice, VIEWED, 85),
    )
    assert times(only_viewed) == (10, None)
    assert times(only_clicked) == (40, 40)
    assert times(viewed_then_clicked) == (5, 60)
    assert times(viewed_twice) == (20, None)
    assert times(clicked_twice) == (80, 80)
    assert counted == 8  # five views and three clicks


def test_a_later_batch_adds_only_what_was_not_recorded_yet(five):
    viewed, clicked = five[:2]
    engagements((viewed, VIEWED, 10), (clicked, CLICKED, 20))
    counted = engagements(
        (viewed, VIEWED, 5),  # an earlier view arriving late does not move the recorded one
        (viewed, CLICKED, 50),
        (clicked, VIEWED, 1),
        (clicked, CLICKED, 30),
    )
    assert counted == 1
    assert times(viewed) == (10, 50)
    assert times(clicked) == (20, 20)


def test_a_batch_counts_only_reports_from_the_profile_the_message_went_to(five):
    mine, theirs, moved = five[:3]
    stranger = f.profile()
    moved.device.profile = stranger  # the browser identified as the stranger after the send
    moved.device.save()
    counted = engagements(
        (mine, VIEWED, 10),
        (theirs, CLICKED, 15, stranger),
        (mine, CLICKED, 20, stranger),
        (moved, CLICKED, 25, stranger),
    )
    assert counted == 3
    assert times(mine) == (10, None)
    assert times(theirs) == (None, None)
    assert times(moved) == (25, 25)


def test_a_batch_skips_unknown_messages_and_events_naming_none(five):
    person = five[0].profile
    unknown = f.event(person, VIEWED, f.T0, message_id="987654")
    unnamed = f.event(person, CLICKED, f.T0)
    known = f.event(person, CLICKED, f.T0, message_id=five[0].pk)
    assert do_track_events([unknown.pk, unnamed.pk, known.pk])["engagements"] == 2
    assert times(five[0]) == (0, 0)


@pytest.mark.parametrize("odd", ["²", "٣", "9" * 40, " ", -5, 10**30])
def test_a_batch_skips_an_event_naming_no_usable_message_and_records_the_rest(five, odd):
    # "²".isdigit() is true and int("²") raises: one such event failed the whole batch,
    # conversions included; 10**30 overflowed the bigint id.
    person = five[0].profile
    bad = f.event(person, VIEWED, f.T0, message_id=odd)
    known = f.event(person, CLICKED, f.T0, message_id=str(five[0].pk))
    assert do_track_events([bad.pk, known.pk])["engagements"] == 2
    assert times(five[0]) == (0, 0)


def test_a_batch_tells_the_roll_up_once_per_dispatch_that_changed(five):
    other = f.message(f.run(f.campaign("Other")))
    untouched = f.message(f.run(f.campaign("Quiet")))
    do_roll_up()
    before = dict(RollUp.objects.values_list("dispatch_id", "changes"))
    engagements(*[(message, CLICKED, 10) for message in five], (other, VIEWED, 10))
    after = dict(RollUp.objects.values_list("dispatch_id", "changes"))
    assert after[five[0].dispatch_id] == before[five[0].dispatch_id] + 1
    assert after[other.dispatch_id] == before[other.dispatch_id] + 1
    assert after[untouched.dispatch_id] == before[untouched.dispatch_id]
    engagements((other, VIEWED, 20))  # nothing new: no recount needed
    assert RollUp.objects.get(dispatch=other.dispatch).changes == after[other.dispatch_id]


@pytest.mark.parametrize("size", [1, 10, 100])
def test_a_batch_takes_the_same_few_statements_however_many_events_it_holds(size, django_assert_max_num_queries):
    run = f.run(f.campaign())
    reports = []
    for second in range(size):
        message = f.message(run)
        reports += [(message, VIEWED, second), (message, CLICKED, second + 1), (message, CLICKED, second + 2)]
    # The events, the messages, the impressions, the views, the clicks, the roll-up note, and
    # the savepoint around them (opened and released).
    events = engagement_events(*reports)
    with django_assert_max_num_queries(8):
        counted = do_track_events(events)["engagements"]
    assert counted == 2 * size
