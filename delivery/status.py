"""Is the machinery running? Workers' heartbeats and beat's housekeeping entries."""

from datetime import timedelta

from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from delivery.models import Heartbeat

# Beat sends the heartbeat every 15 s; three missed beats mean the worker is gone.
STALE_AFTER = timedelta(seconds=45)


def system_status(now=None):
    now = now or timezone.now()
    workers = [
        {"name": beat.worker, "seen_at": beat.seen_at, "alive": now - beat.seen_at <= STALE_AFTER}
        for beat in Heartbeat.objects.all()[:20]
    ]
    entries = list(PeriodicTask.objects.select_related("interval").order_by("name"))
    return {
        "workers": workers,
        "workers_alive": sum(worker["alive"] for worker in workers),
        "beat_entries": entries,
        "checked_at": now,
    }
