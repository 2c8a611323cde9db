"""Push amplification: which pushes are sent once more, and that each is claimed once
(mobile resends through the local FCM and APNs services: test_amplification_mobile.py)."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection

from config.celery import app
from delivery.actions.amplification import claim, do_amplify
from delivery.models import DeliverySettings, Dispatch, Message
from delivery.tasks import amplify
from segments.models import Device, Profile

SENT_AT = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)


def message(*, channel=Dispatch.Channel.WEB_PUSH, is_test=False, status=Message.Status.SENT, **fields):
    profile = Profile.objects.create(identity=f"p{Profile.objects.count()}")
    platform = Device.Platform.WEB if channel == Dispatch.Channel.WEB_PUSH else Device.Platform.ANDROID
    device = Device.objects.create(profile=profile, platform=platform, push_status=Device.PushStatus.ALLOWED)
    dispatch = Dispatch.objects.create(channel=channel, label="run", is_test=is_test, status=Dispatch.Status.DONE)
    sent_at = SENT_AT if status == Message.Status.SENT else None
    return Message.objects.create(
        dispatch=dispatch, profile=profile, device=device, status=status, **{"sent_at": sent_at, **fields}
    )


def claimed_at(minutes_after_send, **options):
    with time_machine.travel(SENT_AT + dt.timedelta(minutes=minutes_after_send), tick=False):
        return claim(dt.datetime.now(dt.UTC), **options)


@pytest.mark.django_db
def test_an_unviewed_web_push_is_claimed_after_an_hour_and_only_once():
    pending = message()
    assert claimed_at(59) == []
    assert claimed_at(61) == [pending.pk]
    pending.refresh_from_db()
    assert pending.amplified_at == SENT_AT + dt.timedelta(minutes=61)
    assert claimed_at(62) == []
    assert claimed_at(120) == []


@pytest.mark.django_db
def test_a_day_old_push_is_left_alone():
    message()
    assert claimed_at(24 * 60 + 1) == []


@pytest.mark.django_db
def test_a_viewed_push_is_not_sent_again():
    message(viewed_at=SENT_AT + dt.timedelta(minutes=30))
    assert claimed_at(90) == []


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["rendered_at", "viewed_at", "clicked_at"])
def test_a_mobile_push_reported_displayed_is_not_sent_again_and_an_unreported_one_is(kind):
    message(channel=Dispatch.Channel.MOBILE_PUSH, **{kind: SENT_AT + dt.timedelta(minutes=30)})
    pending = message(channel=Dispatch.Channel.MOBILE_PUSH)
    assert claimed_at(90) == [pending.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"is_test": True},
        {"status": Message.Status.FAILED},
        {"status": Message.Status.DROPPED},
        {"status": Message.Status.HELD},
    ],
)
def test_test_sends_and_unsent_messages_are_not_amplified(fields):
    message(**fields)
    assert claimed_at(90) == []


@pytest.mark.django_db
def test_claims_come_in_batches_until_none_is_left():
    ids = sorted(message().pk for _ in range(5))
    first, second, third = claimed_at(90, size=2), claimed_at(90, size=2), claimed_at(90, size=2)
    assert (first, second, third) == (ids[:2], ids[2:4], ids[4:])
    assert claimed_at(90, size=2) == []


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_runs_never_claim_the_same_message():
    ids = {message().pk for _ in range(60)}
    claims, start = [], threading.Barrier(2)
    now = SENT_AT + dt.timedelta(hours=2)

    def run():
        start.wait()
        try:
            while batch := claim(now, size=7):
                claims.append(batch)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [pk for batch in claims for pk in batch]
    assert sorted(every) == sorted(ids)  # all claimed, none twice
    assert Message.objects.filter(amplified_at=now).count() == 60


@pytest.mark.django_db
def test_nothing_is_claimed_while_the_toggle_is_off():
    DeliverySettings.objects.create(pk=1, amplification=False)
    pending = message()
    with time_machine.travel(SENT_AT + dt.timedelta(hours=2), tick=False):
        assert do_amplify() == 0
    pending.refresh_from_db()
    assert pending.amplified_at is None


@pytest.mark.django_db
@pytest.mark.parametrize("state", [Dispatch.Status.STOPPED, Dispatch.Status.PAUSED])
def test_a_push_of_a_stopped_or_paused_dispatch_is_not_sent_again(state):
    pending = message()
    Dispatch.objects.filter(pk=pending.dispatch_id).update(status=state)
    assert claimed_at(90) == []


def test_beat_runs_amplification_every_five_minutes():
    entry = app.conf.beat_schedule["amplify web pushes"]
    assert entry["task"] == amplify.name == "delivery.amplification.amplify"
    assert entry["schedule"] == 300.0
