"""Scheduling end to end: real Celery beat and worker processes fire a one-time campaign at
its time through the dispatcher, and it reaches the local Web Push service; two beat
processes (and two workers) running at once still make exactly one run."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts import roles
from campaigns.actions import lifecycle
from campaigns.models import CampaignRun
from campaigns.tests.scheduled import make_campaign
from config.celery import HOUSEKEEPING
from delivery.models import Message
from delivery.tests.engine import vapid_key, web_audience
from tests.processes import CeleryProcesses
from tests.pushservices.webpush import WebPushService

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

AHEAD = timedelta(seconds=6)  # how far ahead of now the campaign is scheduled
ON_TIME = timedelta(seconds=10)  # the run must start this soon after its time


@pytest.fixture(scope="module")
def webpush():
    with WebPushService() as running:
        yield running


@pytest.fixture
def processes(tmp_path, monkeypatch):
    running = CeleryProcesses(tmp_path)
    monkeypatch.setenv("PUSH_PROVIDERS", "live")
    yield running
    running.stop()


def start_beats(processes, count):
    """Start ``count`` beat processes, one after the other once the first has written its
    entries (two schedulers creating the same entries at the same instant is not what we test)."""
    processes.start("beat")
    processes.wait_for(
        lambda: set(HOUSEKEEPING) <= set(PeriodicTask.objects.values_list("name", flat=True)),
        60,
        "beat to write its housekeeping entries",
    )
    for _ in range(count - 1):
        processes.start("beat")


def schedule_one_time(owner, webpush, audience_size):
    audience = web_audience(webpush, audience_size)
    send_at = timezone.now() + AHEAD
    campaign = make_campaign(owner, send_at=send_at, variants=[{"content": {"title": "Spring", "body": "Sale"}}])
    lifecycle.do_schedule(campaign, user=owner)
    return campaign, send_at, audience


def wait_until_everyone_got_it(processes, webpush, audience):
    processes.wait_for(
        lambda: all(webpush.received[subscriber.id] for _, subscriber in audience),
        90,
        "every subscriber to receive the campaign",
    )


def test_a_one_time_campaign_starts_within_ten_seconds_of_its_time_and_reaches_the_push_service(
    processes, webpush, make_user
):
    vapid_key()
    owner = make_user(roles.MARKETER)
    processes.start("worker")
    start_beats(processes, 1)
    campaign, send_at, audience = schedule_one_time(owner, webpush, 3)

    processes.wait_for(
        lambda: CampaignRun.objects.filter(campaign=campaign, started_at__isnull=False).exists(),
        60,
        "the run to start",
    )
    run = CampaignRun.objects.get(campaign=campaign)
    assert run.planned_at == send_at
    assert send_at <= run.started_at <= send_at + ON_TIME, run.started_at - send_at

    wait_until_everyone_got_it(processes, webpush, audience)
    for _, subscriber in audience:
        assert [payload["title"] for payload in webpush.payloads(subscriber)] == ["Spring"]
    processes.wait_for(lambda: CampaignRun.objects.get(pk=run.pk).status == "completed", 30, "the run to complete")
    campaign.refresh_from_db()
    assert campaign.status == "completed"


def test_two_beat_processes_at_once_still_make_exactly_one_run(processes, webpush, make_user):
    vapid_key()
    owner = make_user(roles.MARKETER)
    processes.start("worker")
    processes.start("worker")
    start_beats(processes, 2)
    campaign, _, audience = schedule_one_time(owner, webpush, 5)

    wait_until_everyone_got_it(processes, webpush, audience)
    # Both beats keep ticking (every 5 s each): give them a few more ticks to double anything.
    deadline = timezone.now() + timedelta(seconds=12)
    processes.wait_for(lambda: timezone.now() >= deadline, 30, "more dispatcher ticks")

    beat_logs = [log.read_text() for kind, _, log in processes.procs if kind == "beat"]
    assert len(beat_logs) == 2
    assert all("campaigns.tasks.dispatch_due_firings" in text for text in beat_logs)  # both were ticking
    assert CampaignRun.objects.filter(campaign=campaign).count() == 1
    assert Message.objects.filter(dispatch__run__campaign=campaign).count() == 5
    for _, subscriber in audience:
        assert len(webpush.received[subscriber.id]) == 1
