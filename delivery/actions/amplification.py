"""Push amplification (001_7e98aec7573e4386.txt, "Optimizing delivery by Push Amplification").

Some devices accept a push and never show it (a browser closed when it arrived, an
aggressive battery saver, an OEM that suppresses notifications). When the Settings toggle
is on, a web or mobile push the push service accepted (``sent``) that no device has
reported displayed an hour later is sent once more, with the same collapse key (Web Push
``Topic`` and the notification ``tag``; FCM ``android.collapse_key``; APNs
``apns-collapse-id``): a device that still holds the first copy replaces it, so nobody sees
it twice. Displayed means rendered, viewed or clicked (``delivery.counts.ENGAGED``
"rendered"): the web service worker reports a view when it shows one, an app reports
``rendered`` / ``viewed`` / ``clicked`` through POST /api/v1/engagement. Only once per
message, and not after a day, when it is old news.

Rows are claimed before the resend (``amplified_at`` set in the same transaction that
picks them, SKIP LOCKED on PostgreSQL, the write lock on SQLite), so two overlapping runs
never resend one message twice; a worker dying after the claim loses that resend, which
is the right way round for a bonus send. ``amplified_at`` is what counts them
(``delivery.counts.amplified``).
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from delivery.actions import sending
from delivery.counts import ENGAGED
from delivery.models import DeliverySettings, Dispatch, Message

log = logging.getLogger(__name__)

AFTER = timedelta(hours=1)  # not displayed within an hour (the issue, the seed's toggle text)
UNTIL = timedelta(hours=24)  # later than this it is no longer worth showing
BATCH = 500


# Every channel a push service delivers to the device: Web Push, and FCM / APNs for apps.
CHANNELS = (Dispatch.Channel.WEB_PUSH, Dispatch.Channel.MOBILE_PUSH)


def undelivered(now):
    """Pushes sent AFTER to UNTIL ago that no device reported displayed (rendered, viewed or
    clicked: any of them implies the notification was shown), never amplified, not tests."""
    return Message.objects.alias(displayed=ENGAGED["rendered"]).filter(
        displayed__isnull=True,
        status=Message.Status.SENT,
        sent_at__lte=now - AFTER,
        sent_at__gt=now - UNTIL,
        amplified_at__isnull=True,
        dispatch__channel__in=CHANNELS,
        dispatch__is_test=False,
        # A stopped or paused campaign sends nothing more, resends included.
        dispatch__status__in=[Dispatch.Status.SENDING, Dispatch.Status.DONE],
    )


@transaction.atomic
def claim(now, size=BATCH):
    """Mark up to ``size`` undelivered pushes amplified; their ids (each id is claimed once)."""
    ids = list(
        undelivered(now)
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("id")
        .values_list("id", flat=True)[:size]
    )
    Message.objects.filter(id__in=ids, amplified_at__isnull=True).update(amplified_at=now, updated_at=now)
    return ids


def do_amplify(now=None):
    """Claim and resend every due undelivered push, in batches; how many were resent."""
    if not DeliverySettings.load().amplification:
        return 0
    now = now or timezone.now()
    total = 0
    while ids := claim(now):
        sending.resend(ids)
        total += len(ids)
    if total:
        log.info("push amplification: %s pushes sent once more", total)
    return total
