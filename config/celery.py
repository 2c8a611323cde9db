"""The Celery app and the housekeeping entries beat always runs.

Beat keeps only these fixed entries, declared here and synced into the database by
django-celery-beat's scheduler (so they show in the admin). Campaign schedules are
our own rows, driven by the dispatcher entry: see DESIGN.md, "How a scheduled run
flows", for why there is never one beat entry per campaign.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("clarion")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Imports each installed app's ``tasks`` module, where the app's tasks live: a task defined
# anywhere else is known to a worker only if something happens to import its module
# (delivery/tests/test_tasks.py checks a fresh worker knows every task of the project).
app.autodiscover_tasks()

HOUSEKEEPING = {
    # name: (task, every N seconds)
    "dispatch due firings": ("campaigns.tasks.dispatch_due_firings", 5.0),
    # Live campaigns' pending sends that came due: inaction windows and date-property sends.
    "check inaction windows": ("campaigns.live.tasks.send_due", 30.0),
    "finish A/B tests": ("campaigns.tasks.finish_ab_tests", 60.0),
    # Claims a dead worker left (DELIVERY_CLAIM_LEASE) and held rows beyond their wake-ups.
    "sweep expired claims": ("delivery.tasks.sweep_expired_claims", 15.0),
    "roll up stats": ("stats.tasks.roll_up", 60.0),
    # Events per profile, name and day, for reach counts over windows (segments/actions/rollup.py).
    "roll up events": ("segments.tasks.roll_up_events", 300.0),
    # Messages older than MESSAGE_RETENTION_DAYS, once their roll-ups are kept (stats/actions/retention.py).
    "prune old messages": ("stats.tasks.prune_messages", 3600.0),
    "worker heartbeat": ("delivery.tasks.heartbeat", 15.0),
    # delivery.tasks.amplify, registered under the name of the module it started in.
    "amplify web pushes": ("delivery.amplification.amplify", 300.0),
    # The API's Idempotency-Key answers are kept 30 days (campaigns/idempotency.py).
    "forget idempotency keys": ("campaigns.tasks.forget_idempotency_keys", 3600.0),
    # Expired App Inbox items emptied, and deleted with their dispatch's messages (delivery/actions/inbox.py).
    "sweep the app inbox": ("delivery.tasks.sweep_inbox", 3600.0),
}

app.conf.beat_schedule = {
    # Expire each tick after its interval: a tick that waited that long in the queue
    # is superseded by the next one, so a stalled worker does not come back to a pile.
    name: {"task": task, "schedule": every, "options": {"expires": every}}
    for name, (task, every) in HOUSEKEEPING.items()
}
