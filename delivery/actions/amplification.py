"""Push amplification (001_7e98aec7573e4386.txt, "Optimizing delivery by Push Amplification").

Some devices accept a push and never show it (a browser closed when it arrived, an
aggressive battery saver). When the Settings toggle is on, a web push the push service
accepted (``sent``) whose service worker has not reported it shown (``viewed_at``) an
hour later is sent once more, with the same collapse key (Web Push ``Topic``, the
notification ``tag``): a device that still holds the first copy replaces it, so nobody
sees it twice. Only once per message, and not after a day, when it is old news.

Rows are claimed before the resend (``amplified_at`` set in the same transaction that
picks them, SKIP LOCKED on PostgreSQL, the write lock on SQLite), so two overlapping runs
never resend one message twice; a worker dying after the claim loses that resend, which
is the right way round for a bonus send.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from delivery.actions import sending
from delivery.models import DeliverySettings, Dispatch, Message

log = logging.getLogger(__name__)

AFTER = timedelta(hours=1)  # not viewed within an hour (the issue, the seed's toggle text)
UNTIL = timedelta(hours=24)  # later than this it is no longer worth showing
BATCH = 500


def unviewed(now):
    """Web pushes sent AFTER to UNTIL ago, never reported viewed, never amplified, not tests."""
    return Message.objects.filter(
        status=Message.Status.SENT,
        sent_at__lte=now - AFTER,
        sent_at__gt=now - UNTIL,
        viewed_at__isnull=True,
        amplified_at__isnull=True,
        dispatch__channel=Dispatch.Channel.WEB_PUSH,
        dispatch__is_test=False,
        # A stopped or paused campaign sends nothing more, resends included.
        dispatch__status__in=[Dispatch.Status.SENDING, Dispatch.Status.DONE],
    )


@transaction.atomic
def claim(now, size=BATCH):
    """Mark up to ``size`` unviewed web pushes amplified; their ids (each id is claimed once)."""
    ids = list(
        unviewed(now)
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("id")
        .values_list("id", flat=True)[:size]
    )
    Message.objects.filter(id__in=ids, amplified_at__isnull=True).update(amplified_at=now, updated_at=now)
    return ids


def do_amplify(now=None):
    """Claim and resend every due unviewed web push, in batches; how many were resent."""
    if not DeliverySettings.load().amplification:
        return 0
    now = now or timezone.now()
    total = 0
    while ids := claim(now):
        sending.resend(ids)
        total += len(ids)
    if total:
        log.info("push amplification: %s web pushes sent once more", total)
    return total
