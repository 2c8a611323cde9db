"""The Celery machinery end to end: a real worker and a real beat, each its own process."""

import json
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


# Run in a new process, as a worker starts: it imports each app's tasks module (and what
# the apps import when they are ready) and nothing else, so a task that lives in another
# module would be unknown to it. (This test process may have imported that module already,
# which would hide it.) Then it imports every other module of the project, which registers
# every task defined anywhere: the names a fresh worker did not know come out as "missing".
FRESH_WORKER = """
import importlib, json, os, pkgutil
import django
django.setup()
from django.apps import apps
from config.celery import app

app.loader.import_default_modules()
known = {name for name in app.tasks if not name.startswith("celery.")}
ours = [config.name for config in apps.get_app_configs() if os.path.dirname(config.path) == ROOT] + ["config"]
for package in ours:
    path = importlib.import_module(package).__path__
    for module in pkgutil.walk_packages(path, package + "."):
        if not {"tests", "migrations"} & set(module.name.split(".")):
            importlib.import_module(module.name)
every = {name for name in app.tasks if not name.startswith("celery.")}
modules = {name: app.tasks[name].run.__module__ for name in every}
print(json.dumps({"known": sorted(known), "missing": sorted(every - known), "modules": modules}))
"""


def tasks_a_fresh_worker_knows():
    script = f"ROOT = {str(ROOT)!r}\n" + FRESH_WORKER
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "tests.settings"}
    output = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(output.splitlines()[-1])


def test_a_fresh_worker_process_knows_every_task_of_the_project():
    found = tasks_a_fresh_worker_knows()
    assert found["missing"] == []
    # Every task is defined in its app's tasks.py (STYLE.md: the same furniture in every app),
    # whatever name it keeps for the messages already queued under it.
    assert {
        name: module
        for name, module in found["modules"].items()
        if module.count(".") != 1 or not module.endswith(".tasks")
    } == {}
    assert {task for task, _ in HOUSEKEEPING.values()} <= set(found["known"])
    # Tasks queued by the apps rather than by beat, one per app, so the walk did find them.
    assert {
        "segments.tasks.import_profiles",
        "delivery.tasks.send_batch",
        "campaigns.tasks.start_run",
        "stats.tasks.track_events",
    } <= set(found["known"])
