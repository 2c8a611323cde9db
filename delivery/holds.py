"""Why messages wait, in words: the held rows of some dispatches grouped by their reason
(``Message.hold_reason``, recorded where the pipeline decided the hold) with when they go.

"37 wait for the throttle (60 per 15 minutes): the next window opens at 10:15, the last
expected at 11:30." The campaign page renders these sentences; the Errors tab links to them.
A few queries whatever the number of messages: a GROUP BY over the held rows, one over the
queued and claimed ones, and a count of the throttle's queue (the throttle is global, so the
others' held rows go in the same windows).
"""

import math
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Min
from django.utils import timezone

from delivery.actions.besttime import WINDOW
from delivery.codes import meaning
from delivery.models import DeliverySettings, Dispatch, Message
from delivery.throttle import INTERVAL

Hold = Message.HoldReason
# Not hold reasons: the rest of what pages count as waiting (queued, sending and held rows).
SENDING = "sending"  # queued or claimed rows of a sending dispatch: going out now
PAUSED = "paused"  # queued rows of a paused dispatch
# The order the groups are shown in: what goes soonest on its own first.
ORDER = (SENDING, Hold.RETRY, Hold.THROTTLE, Hold.DND, Hold.USER_TIME_ZONE, Hold.BEST_TIME, Hold.SCHEDULED, "", PAUSED)


@dataclass
class Group:
    """Messages waiting for one reason: ``count`` of them, the first going at ``first`` and
    the last at ``last`` (for the throttle: the last expected, from its rate)."""

    reason: str
    count: int
    first: datetime | None = None
    last: datetime | None = None
    code: str = ""  # a retry's provider code
    clock: str = ""  # the local wall time they wait for (DND's end, the user-time-zone send, best time's fallback)
    asked: bool = False  # a retry's push service said how long to wait (Retry-After)
    limit: int | None = None  # the throttle's messages per 15 minutes
    now: datetime | None = None

    @property
    def sentence(self):
        n, first, last = self.count, _at(self.first, self.now), _at(self.last, self.now)
        span = first if first == last else f"the first {first}, the last {last}"
        if self.reason == Hold.THROTTLE:
            rate = f" ({self.limit} per 15 minutes)" if self.limit else ""
            if first == last:
                return f"{n} {_wait(n)} for the throttle{rate}: {_they(n)} {_go(n)} in the next window, {first}."
            return f"{n} {_wait(n)} for the throttle{rate}: the next window opens {first}, the last expected {last}."
        if self.reason == Hold.DND:
            return f"{n} {_wait(n)} for Do Not Disturb to end at {self.clock} in their time zone ({span})."
        if self.reason == Hold.USER_TIME_ZONE:
            return f"{n} {_wait(n)} for {self.clock} in their own time zone ({span})."
        if self.reason == Hold.BEST_TIME:
            return (
                f"{n} {_wait(n)} for each person's best time: their most active hour of the last {WINDOW.days} days"
                f" in their own time zone, {self.clock} for too little history ({span})."
            )
        if self.reason == Hold.RETRY:
            why = "the push service asked to wait" if self.asked else _lower(meaning(self.code)).rstrip(".")
            if first == last:
                when = "now" if first == "now" else f"after {first[3:]}"
            else:
                when = f"between {first[3:] or 'now'} and {last[3:]}"
            return f"{n} will be tried again {when} ({why})."
        if self.reason == SENDING:
            return f"{n} {'is' if n == 1 else 'are'} being sent now."
        if self.reason == PAUSED:
            return f"{n} {_wait(n)} for the campaign to be resumed."
        return f"{n} {_wait(n)} for the time set for {_them(n)} ({span})."


def waiting(dispatch_ids, *, now=None):
    """The messages of ``dispatch_ids`` that wait (``delivery/counts.py``'s waiting: queued,
    sending and held), as ``Group``s in the order shown; three queries."""
    now = now or timezone.now()
    dispatch_ids = [pk for pk in dispatch_ids if pk]
    if not dispatch_ids:
        return []
    rows = (
        Message.objects.filter(dispatch__in=dispatch_ids, status=Message.Status.HELD)
        .values("dispatch_id", "hold_reason", "code", "error_detail")
        .annotate(n=Count("id"), first=Min("not_before"), last=Max("not_before"))
        .order_by()
    )
    rules = dict(Dispatch.objects.filter(pk__in=dispatch_ids).values_list("pk", "rules"))
    groups = {}
    for row in rows:
        reason = row["hold_reason"]
        key = (reason, row["code"] if reason == Hold.RETRY else "", _clock(reason, rules.get(row["dispatch_id"])))
        group = groups.setdefault(key, Group(reason, 0, code=key[1], clock=key[2], now=now))
        group.count += row["n"]
        group.first = min(filter(None, (group.first, row["first"])), default=None)
        group.last = max(filter(None, (group.last, row["last"])), default=None)
        group.asked = group.asked or "asked to wait" in row["error_detail"]
    # Rows of an open dispatch (an A/B test's rest, waiting for its winner; a run still being
    # written) are left to the caller, which knows what the dispatch is for.
    unheld = (
        Message.objects.filter(
            dispatch__in=dispatch_ids,
            dispatch__status__in=[Dispatch.Status.SENDING, Dispatch.Status.PAUSED],
            status__in=[Message.Status.QUEUED, Message.Status.SENDING],
        )
        .values_list("dispatch__status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for dispatch_status, n in unheld:
        reason = PAUSED if dispatch_status == Dispatch.Status.PAUSED else SENDING
        groups.setdefault((reason, "", ""), Group(reason, 0, now=now)).count += n
    for group in groups.values():
        if group.reason == Hold.THROTTLE:
            _estimate_throttle(group)
    return sorted(groups.values(), key=lambda group: (ORDER.index(group.reason), group.first or now))


def waiting_count(dispatch_ids):
    """How many messages of ``dispatch_ids`` are held (the Errors tab's pointer to the reasons)."""
    return Message.objects.filter(dispatch__in=[pk for pk in dispatch_ids if pk], status=Message.Status.HELD).count()


def _estimate_throttle(group):
    """Every throttled row waits for the next window; at the throttle's rate the queue (this
    campaign's and every other one's: the throttle is global) needs this many windows."""
    group.limit = DeliverySettings.load().throttle_per_15_min
    if not group.limit or group.first is None:
        group.last = group.first
        return
    queued = Message.objects.filter(status=Message.Status.HELD, hold_reason=Hold.THROTTLE).count()
    group.last = group.first + INTERVAL * (math.ceil(max(queued, group.count) / group.limit) - 1)


def _clock(reason, rules):
    rules = rules or {}
    if reason == Hold.DND and rules.get("dnd"):
        return rules["dnd"].get("end", "")
    if reason == Hold.BEST_TIME and rules.get("best_time"):
        return f"{rules['best_time']['fallback_hour']:02d}:00"
    if reason == Hold.USER_TIME_ZONE and rules.get("user_timezone_at"):
        text = rules["user_timezone_at"]
        if "T" not in text:
            return text
        day, clock = text.split("T", 1)
        return f"{clock[:5]} on {datetime.fromisoformat(day).strftime('%-d %b')}"
    return ""


def _at(moment, now):
    """ "at 10:15" as the dashboard shows times (its TIME_ZONE), "at 10:15 on 8 Dec" when not
    today, "now" once due (a worker takes it within seconds)."""
    if moment is None:
        return "at a time not recorded"
    if now is not None and moment <= now:
        return "now"
    local = timezone.localtime(moment)
    if now is not None and local.date() == timezone.localtime(now).date():
        return f"at {local:%H:%M}"
    return f"at {local:%H:%M} on {local:%-d %b}"


def _wait(n):
    return "waits" if n == 1 else "wait"


def _go(n):
    return "goes" if n == 1 else "go"


def _they(n):
    return "it" if n == 1 else "they"


def _them(n):
    return "it" if n == 1 else "them"


def _lower(text):
    return text[:1].lower() + text[1:]
