"""Views and clicks, each recorded once per message.

They arrive three ways: the service worker's reports and the mobile apps' events
(``Notification Viewed`` / ``Notification Clicked`` with a ``message_id`` property, stored
by segments and handed over by ``segments.signals.events_recorded``), and a click on a
signed link through Clarion (``stats.links``). Each sets ``viewed_at`` / ``clicked_at`` with
a conditional UPDATE (only while it is null), so a repeated report changes nothing and two
reports at once cannot both count. A click implies a view: a notification clicked was seen,
whether or not its view report arrived.
"""

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from delivery.models import Message
from segments.actions.sdk import ENGAGEMENT_EVENTS
from stats.models import RollUp

VIEWED, CLICKED = ENGAGEMENT_EVENTS["viewed"], ENGAGEMENT_EVENTS["clicked"]


def message_id_of(properties):
    """The message an engagement event is about: an int, or None if it names none."""
    value = (properties or {}).get("message_id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 19:
        return int(value.strip())
    return None


@transaction.atomic
def do_record_engagement(message_id, kind, at, *, profile_id=None):
    """Record that message ``message_id`` was viewed or clicked (``kind``) at ``at``.

    With ``profile_id`` (a report from a device) it only counts when the message went to
    that profile or to a device that profile now holds, so one visitor cannot count views
    for another's messages. Returns whether anything new was recorded."""
    dispatch_id = _record(message_id, kind, at, profile_id)
    if dispatch_id:
        note_changed([dispatch_id])
    return dispatch_id is not None


def _record(message_id, kind, at, profile_id):
    """The message's dispatch id if this changed it, else None."""
    if kind not in ENGAGEMENT_EVENTS:
        raise ValueError(f"kind must be one of {', '.join(ENGAGEMENT_EVENTS)}; got {kind!r}")
    messages = Message.objects.filter(pk=message_id)
    if profile_id is not None:
        messages = messages.filter(Q(profile_id=profile_id) | Q(device__profile_id=profile_id))
    found = messages.values_list("dispatch_id", flat=True).first()
    if found is None:
        return None
    now = timezone.now()
    mine = Message.objects.filter(pk=message_id)
    changed = mine.filter(viewed_at__isnull=True).update(viewed_at=at, updated_at=now)
    if kind == "clicked":
        changed += mine.filter(clicked_at__isnull=True).update(clicked_at=at, updated_at=now)
    return found if changed else None


def note_changed(dispatch_ids):
    """Tell the roll-up these dispatches' numbers moved (see ``RollUp``). A dispatch not
    rolled up yet has no row: the roll-up finds it anyway."""
    RollUp.objects.filter(dispatch_id__in=set(dispatch_ids)).update(changes=F("changes") + 1)


@transaction.atomic
def record_engagement_events(events):
    """Engagement events (dicts of Event fields) onto their messages, in one transaction
    (one commit for a batch, not one per event); how many counted."""
    touched = []
    for event in events:
        kind = "clicked" if event["name"] == CLICKED else "viewed"
        message_id = message_id_of(event["properties"])
        if message_id is not None:
            touched.append(_record(message_id, kind, event["occurred_at"], event["profile_id"]))
    touched = [dispatch_id for dispatch_id in touched if dispatch_id]
    note_changed(touched)
    return len(touched)
