"""The Celery machinery end to end: a real worker and a real beat, each its own process."""

import os
import subprocess
import sys

import pytest
from django_celery_beat.models import PeriodicTask

from config.celery import HOUSEKEEPING
from delivery.models import Heartbeat
from delivery.tasks import heartbeat
from tests.processes import ROOT, CeleryProcesses

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_processes(tmp_path):
    processes = CeleryProcesses(tmp_path)
    yield processes
    processes.stop()


def test_a_real_worker_runs_a_task_end_to_end(celery_processes):
    celery_processes.start("worker")
    heartbeat.apply_async(kwargs={"worker": "sent-by-the-test"}, queue=celery_processes.queue)
    celery_processes.wait_for(
        lambda: Heartbeat.objects.filter(worker="sent-by-the-test").exists(), 60, "the worker to record the heartbeat"
    )


def test_beat_declares_the_housekeeping_entries_and_a_worker_runs_them(celery_processes):
    celery_processes.start("worker")
    celery_processes.start("beat")
    celery_processes.wait_for(
        lambda: set(HOUSEKEEPING) <= set(PeriodicTask.objects.values_list("name", flat=True)),
        60,
        "beat to write its housekeeping entries",
    )
    entry = PeriodicTask.objects.get(name="worker heartbeat")
    assert (entry.task, entry.interval.every, entry.interval.period) == ("delivery.tasks.heartbeat", 15, "seconds")
    # Nobody sends this heartbeat but beat, and it names the worker that ran it.
    celery_processes.wait_for(
        lambda: Heartbeat.objects.filter(worker__startswith=f"{celery_processes.queue}@").exists(),
        60,
        "beat's heartbeat to reach the worker",
    )


def test_the_heartbeat_task_names_the_worker_and_moves_forward(db):
    heartbeat.apply(kwargs={"worker": "w1"})
    first = Heartbeat.objects.get(worker="w1").seen_at
    heartbeat.apply(kwargs={"worker": "w1"})
    assert Heartbeat.objects.get(worker="w1").seen_at > first
    assert Heartbeat.objects.count() == 1


def test_a_fresh_worker_process_knows_every_housekeeping_task():
    # A new process, as a worker starts: it imports each app's tasks module and nothing
    # else, so a beat entry whose task lives in another module would be unknown to it.
    # (This test process may have imported that module already, which would hide it.)
    script = (
        "import django; django.setup()\n"
        "from config.celery import app\n"
        "app.loader.import_default_modules()\n"
        "print('\\n'.join(app.tasks))\n"
    )
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "tests.settings"}
    known = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert {task for task, _ in HOUSEKEEPING.values()} <= set(known)
