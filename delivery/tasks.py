"""Celery tasks of delivery: thin, ids in, state on rows, safe to run twice. Every task of
the app is here, where a worker looks (config/celery.py autodiscovers ``<app>.tasks``).
Names are explicit: queued messages and beat's entries carry them, so moving a function
must not change them."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from delivery.actions import amplification, inbox, sending
from delivery.models import Heartbeat

# A hold shorter than this is woken by a task with a countdown; longer ones by the sweep
# (beat, every 15 s). Countdowns stay far below Redis's visibility timeout (6 h).
WAKE_WITHIN = 3600
# Wake-ups one batch may queue. Each is a countdown task the worker keeps in memory until it
# is due, so a batch of rows held until a thousand different times (DND ends in every time
# zone, per-person send times) must not make a thousand: see ``wake_ups``.
WAKES_PER_BATCH = 16
# A wake-up may come this share of its wait late (at least a second): holds that close
# together share one.
WAKE_SLACK = 0.1


@shared_task(name="delivery.tasks.heartbeat", ignore_result=True)
def heartbeat(worker=None):
    """Record that a worker is alive (beat runs this every 15 s; see config/celery.py)."""
    name = worker or heartbeat.request.hostname or "unknown"
    Heartbeat.objects.update_or_create(worker=name, defaults={"seen_at": timezone.now()})


@shared_task(name="delivery.tasks.send_batch", ignore_result=True)
def send_batch(dispatch_id):
    """Send batches of a dispatch for a few seconds (``sending.TASK_SECONDS``); queue the next
    task while the claims come back full."""
    report = None
    for report in sending.send_batches(dispatch_id):
        for at in wake_ups(report.holds, timezone.now()):
            wake(dispatch_id, at)
    if report is not None and report.more:
        send_batch.delay(dispatch_id)


def wake_ups(holds, now):
    """When to wake a dispatch for the rows a batch held until ``holds`` (distinct times): one
    wake-up per time, except that times within ``WAKE_SLACK`` of their wait (at least a
    second) of the first of their group share one, at the group's last time, so no row wakes
    before it is due and none more than a tenth of its wait late. At most ``WAKES_PER_BATCH``,
    the nearest (with a hold at every second, they reach about 40 s ahead): later rows are
    found by the sweep, at most its 15 s late."""
    wakes = []
    first = None
    for at in sorted(holds):
        wait = (at - now).total_seconds()
        if wait > WAKE_WITHIN:
            break
        if first is not None and (at - first).total_seconds() <= max(1.0, WAKE_SLACK * (first - now).total_seconds()):
            wakes[-1] = at
            continue
        if len(wakes) == WAKES_PER_BATCH:
            break
        first = at
        wakes.append(at)
    return wakes


def wake(dispatch_id, at):
    """One send task at ``at`` for the rows held until then; batches holding rows until the
    same moment (a throttle interval, a Retry-After) queue it once between them."""
    countdown = (at - timezone.now()).total_seconds()
    if countdown > WAKE_WITHIN:
        return
    if cache.add(f"delivery:wake:{dispatch_id}:{int(at.timestamp())}", 1, timeout=int(max(countdown, 0)) + 60):
        send_batch.apply_async((dispatch_id,), countdown=max(0.0, countdown))


@shared_task(name="delivery.tasks.sweep_expired_claims", ignore_result=True)
def sweep_expired_claims():
    """Queue again the rows whose claim outlived its lease, and give a send task to every
    sending dispatch with rows ready (beat, every 15 s: config/celery.py)."""
    for dispatch_id in sending.sweep():
        send_batch.delay(dispatch_id)


# Named where it first lived (delivery/amplification.py): beat's database entry and any
# queued message carry that name, so it must not follow the module.
@shared_task(name="delivery.amplification.amplify", ignore_result=True)
def amplify():
    """Send web and mobile pushes not reported displayed once more (beat, every 5 minutes: "amplify web pushes" in
    config/celery.py; delivery/actions/amplification.py)."""
    amplification.do_amplify()


@shared_task(name="delivery.tasks.sweep_inbox", ignore_result=True)
def sweep_inbox():
    """Empty expired App Inbox items and delete those of pruned dispatches (beat, hourly:
    config/celery.py; delivery/actions/inbox.py)."""
    inbox.do_sweep_expired()
