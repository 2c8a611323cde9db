from datetime import UTC, datetime, timedelta

import time_machine

from accounts.roles import ADMIN, VIEWER
from delivery.models import Heartbeat

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@time_machine.travel(NOW, tick=False)
def test_a_recent_heartbeat_shows_the_worker_running(client_as):
    Heartbeat.objects.create(worker="celery@a", seen_at=NOW - timedelta(seconds=20))
    Heartbeat.objects.create(worker="celery@b", seen_at=NOW - timedelta(minutes=5))
    response = client_as(VIEWER).get("/system/status/")
    assert response.context["workers_alive"] == 1
    assert b"1 worker answered the last heartbeat" in response.content
    assert [w["alive"] for w in response.context["workers"]] == [True, False]


@time_machine.travel(NOW, tick=False)
def test_only_silent_workers_show_stopped(client_as):
    Heartbeat.objects.create(worker="celery@a", seen_at=NOW - timedelta(minutes=2))
    assert b"Stopped" in client_as(VIEWER).get("/system/status/").content


def test_no_worker_yet_says_how_to_start_one(client_as):
    assert b"No worker has answered yet" in client_as(VIEWER).get("/system/status/").content


def test_settings_shows_the_housekeeping_entries(client_as):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every = IntervalSchedule.objects.create(every=15, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="worker heartbeat", task="delivery.tasks.heartbeat", interval=every)
    response = client_as(ADMIN).get("/settings/")
    assert b"Housekeeping entries" in response.content
    assert b"delivery.tasks.heartbeat" in response.content
