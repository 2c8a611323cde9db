from celery import shared_task
from django.utils import timezone

from delivery.models import Heartbeat


@shared_task(ignore_result=True)
def heartbeat(worker=None):
    """Record that a worker is alive (beat runs this every 15 s; see config/celery.py)."""
    name = worker or heartbeat.request.hostname or "unknown"
    Heartbeat.objects.update_or_create(worker=name, defaults={"seen_at": timezone.now()})


@shared_task(ignore_result=True)
def sweep_expired_claims():
    """Does nothing yet. The delivery engine (issue 6) owns it: it will find Message
    rows whose claim outlived its lease and queue them to be sent again."""
