"""Events that arrived (``segments.signals.events_recorded``), read for what stats needs."""

from segments.models import Event
from stats.actions.conversions import credit_conversions
from stats.actions.tracking import KIND_OF_EVENT, record_engagement_events

FIELDS = ("id", "profile_id", "name", "properties", "occurred_at")


def do_track_events(event_ids):
    """Impressions, views and clicks onto their messages, then goal events into conversions. Safe to run
    twice on the same ids: each records only what is not recorded yet. Returns
    {"engagements": n, "conversions": n, "control_conversions": n}, engagements being the
    views and clicks newly recorded (a click on a message not viewed yet records both)."""
    events = list(Event.objects.filter(pk__in=list(event_ids)).order_by("occurred_at", "pk").values(*FIELDS))
    engagement = [event for event in events if event["name"] in KIND_OF_EVENT]
    # Engagement first: a click and a purchase in one batch, with a goal counted from the
    # click, need the click recorded before the purchase is checked.
    counted = record_engagement_events(engagement)
    conversions, controls = credit_conversions([event for event in events if event["name"] not in KIND_OF_EVENT])
    return {"engagements": counted, "conversions": conversions, "control_conversions": controls}
