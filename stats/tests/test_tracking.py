"""Views and clicks, recorded once per message, from the service worker, the apps and links."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse

from config.celery import app as celery_app
from delivery.models import Message
from segments.actions.keys import create_api_key
from segments.models import Site
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
