"""Celery tasks of delivery: thin, ids in, state on rows, safe to run twice."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from delivery.actions import sending
from delivery.models import Heartbeat

# A hold shorter than this is woken by a task with a countdown; longer ones by the sweep
# (beat, every minute). Countdowns stay far below Redis's visibility timeout (6 h).
WAKE_WITHIN = 3600


@shared_task(ignore_result=True)
def heartbeat(worker=None):
    """Record that a worker is alive (beat runs this every 15 s; see config/celery.py)."""
    name = worker or heartbeat.request.hostname or "unknown"
    Heartbeat.objects.update_or_create(worker=name, defaults={"seen_at": timezone.now()})


@shared_task(ignore_result=True)
def send_batch(dispatch_id):
    """Send one batch of a dispatch; queue the next while the claims come back full."""
    report = sending.send_batch(dispatch_id)
    if report is None:
        return
    if report.more:
        send_batch.delay(dispatch_id)
    if report.wake_at is not None:
        wake(dispatch_id, report.wake_at)


def wake(dispatch_id, at):
    """One send task at ``at`` for the rows held until then; batches holding rows until the
    same moment (a throttle interval, a Retry-After) queue it once between them."""
    countdown = (at - timezone.now()).total_seconds()
    if countdown > WAKE_WITHIN:
        return
    if cache.add(f"delivery:wake:{dispatch_id}:{int(at.timestamp())}", 1, timeout=int(max(countdown, 0)) + 60):
        send_batch.apply_async((dispatch_id,), countdown=max(0.0, countdown))


@shared_task(ignore_result=True)
def sweep_expired_claims():
    """Queue again the rows whose claim outlived its lease, and give a send task to every
    sending dispatch with rows ready (beat, every minute: config/celery.py)."""
    for dispatch_id in sending.sweep():
        send_batch.delay(dispatch_id)


# Push amplification's task lives beside its action; importing it here is what makes the
# worker (which autodiscovers ``delivery.tasks``) know it when beat queues it.
from delivery.amplification import amplify  # noqa: E402, F401
