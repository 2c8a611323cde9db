"""The When step's rules for one message: DND hours, the cut-off, the user's time zone,
best time (``delivery/actions/besttime.py`` holds a dispatch's messages until each person's hour)
and the global frequency caps. (How often a failed push is tried again: ``retries.py``.)

Pure functions of a row, the rules and the clock (plus a short transaction for the caps),
so the pipeline can decide a whole batch in memory. Local times are read in the profile's own
time zone when it has a valid one, else in the dispatch's ``timezone`` rule.
"""

import contextlib
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, Q

from delivery.models import Message
from delivery.zones import person_zone, zone

# Codes of messages never sent on purpose (DESIGN.md "Error codes shown to marketers").
FREQUENCY_CAP = "frequency_cap"
DND_DISCARDED = "dnd_discarded"
CUTOFF_PASSED = "cutoff_passed"
UNREACHABLE = "unreachable"

DEFAULT_TTL = 24 * 3600


def _time(text):
    return time.fromisoformat(text) if text else None


def _hour(value):
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 23:
        raise ValueError(f"best_time's fallback_hour must be an hour, 0 to 23: {value!r}")
    return value


def _datetime(text):
    if not text:
        return None
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"cutoff must carry its time zone offset: {text!r}")
    return value


@dataclass(frozen=True)
class Dnd:
    start: time
    end: time
    action: str  # "discard" or "delay"

    def ends_at(self, now, tz):
        """When the DND hours ``now`` falls in end (aware), or None when ``now`` is outside them.
        Hours across midnight (21:00 to 09:00) are the usual case."""
        local = now.astimezone(tz)
        clock = local.time().replace(tzinfo=None)
        if self.start == self.end:
            return None
        if self.start < self.end:
            inside = self.start <= clock < self.end
            end_day = local.date()
        else:
            inside = clock >= self.start or clock < self.end
            end_day = local.date() + timedelta(days=1) if clock >= self.start else local.date()
        if not inside:
            return None
        return local_moment(end_day, self.end, tz)


def local_moment(day, clock, tz):
    """The aware moment a wall clock shows ``clock`` on ``day`` in ``tz``. In a DST gap the
    clock jumps past it (fold=0 gives the later offset's reading, which we normalise)."""
    moment = datetime.combine(day, clock, tzinfo=tz)
    return moment.astimezone(ZoneInfo("UTC")).astimezone(tz)


@dataclass(frozen=True)
class Rules:
    timezone: ZoneInfo
    dnd: Dnd | None = None
    cutoff: datetime | None = None
    skip_global_limits: bool = False
    ttl: int = DEFAULT_TTL
    urgency: str = "normal"
    user_timezone_at: str | None = None
    collapse_prefix: str = ""
    best_time_fallback: int | None = None  # best time delivery's fallback hour (delivery/actions/besttime.py)

    @classmethod
    def parse(cls, rules):
        rules = rules or {}
        dnd = rules.get("dnd")
        return cls(
            timezone=zone(rules.get("timezone")),
            dnd=Dnd(_time(dnd["start"]), _time(dnd["end"]), dnd.get("action") or "delay") if dnd else None,
            cutoff=_datetime(rules.get("cutoff")),
            skip_global_limits=bool(rules.get("skip_global_limits")),
            ttl=int(rules["ttl"]) if rules.get("ttl") not in (None, "") else DEFAULT_TTL,
            urgency=rules.get("urgency") or "normal",
            user_timezone_at=rules.get("user_timezone_at") or None,
            collapse_prefix=rules.get("collapse_prefix") or "",
            best_time_fallback=_hour(rules["best_time"]["fallback_hour"]) if rules.get("best_time") else None,
        )

    def zone_for(self, profile_timezone):
        """The person's zone, else the campaign's (``delivery.zones.person_zone`` says why)."""
        return person_zone(profile_timezone, self.timezone)

    def release_at(self, tz, started_at):
        """When a per-user-time-zone message may go to someone in ``tz``: the planned wall time
        there. "2026-05-04T09:00" names the day; "09:00" means that time on the day the
        dispatch started (in the dispatch's time zone). None without the rule."""
        if not self.user_timezone_at:
            return None
        text = self.user_timezone_at
        if "T" in text:
            wall = datetime.fromisoformat(text).replace(tzinfo=None)
        else:
            wall = datetime.combine(started_at.astimezone(self.timezone).date(), _time(text))
        return local_moment(wall.date(), wall.time(), tz)

    def decide(self, now, tz, started_at):
        """What the When rules do with a message to someone in ``tz`` at ``now``, in this
        order: past the cut-off it is dropped; before the planned wall time in their zone
        (per-user time zone) it is held until then; inside DND it is dropped or held until
        DND ends, as the DND action says. Returns (the not-sent code, or ""; when a hold
        ends, or None; the hold's reason, or ""): ("", None, "") when it may go now.
        The one decision of the send pipeline (``sending.Batch.may_go_now``) and of the
        forecast, which asks it again when a hold ends (``campaigns.actions.forecast``)."""
        if self.cutoff and now >= self.cutoff:
            return CUTOFF_PASSED, None, ""
        release = self.release_at(tz, started_at)
        if release and now < release:
            return "", release, Message.HoldReason.USER_TIME_ZONE
        if self.dnd and (ends := self.dnd.ends_at(now, tz)):
            if self.dnd.action == "discard":
                return DND_DISCARDED, None, ""
            return "", ends, Message.HoldReason.DND
        return "", None, ""


@dataclass
class Slots:
    """What ``cap_slots`` found: ``capped``, the profiles with no slot left; ``take(ids, now)``
    marks the message rows that will be sent now as holding their person's slot."""

    capped: set
    take: object


@contextlib.contextmanager
def cap_slots(profile_ids, settings, *, dispatch_id, now):
    """The global frequency caps of a batch, held exactly: inside, ``capped`` is read and the
    rows that go are marked (``take``) under a lock on each of the batch's profiles, so two
    dispatches deciding at the same moment cannot both take a person's last slot.

    A row takes its slot when it is decided, not when the push service answers: its
    ``sent_at`` is set while it is still ``sending`` (the count reads sent and sending rows
    with a ``sent_at``), then kept when it is sent and cleared when it fails or waits
    (``outcomes.Outcomes``). The locks are PostgreSQL advisory locks on the profile ids,
    taken in id order (so two batches never wait on each other in a cycle) and released at
    the commit, before any push is sent; they leave the profile rows free for ingestion.
    SQLite (the embedded mode) needs none: its IMMEDIATE transactions take the one write
    lock up front. Per batch: the lock, the count and the mark, three statements."""
    daily, weekly = settings.daily_cap, settings.weekly_cap
    if not profile_ids or (daily is None and weekly is None):
        yield Slots(set(), lambda ids, now: None)
        return
    with transaction.atomic():
        _lock_profiles(profile_ids)
        yield Slots(capped_profiles(profile_ids, settings, dispatch_id=dispatch_id, now=now), _take)


# Namespace of our advisory locks (the first of their two int4 keys): "caps".
CAPS_LOCKS = 0x63617073


def _lock_profiles(profile_ids):
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # The sub-select's order is the order the locks are taken in; ids fold into int4.
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(%s, (id %% 2147483648)::int))"
            " FROM (SELECT unnest(%s::bigint[]) AS id ORDER BY 1) AS batch",
            [CAPS_LOCKS, sorted(profile_ids)],
        )


def _take(ids, now):
    for start in range(0, len(ids), 1000):
        Message.objects.filter(pk__in=ids[start : start + 1000]).update(sent_at=now)


def capped_profiles(profile_ids, settings, *, dispatch_id, now):
    """Profiles that already got the most messages the global limits allow (``DeliverySettings``
    daily/weekly caps), counted as dispatches with a message sent, or being sent
    (``cap_slots``), to the profile in the last 24 hours / 7 days. Not counted: this dispatch
    (one campaign to a person's phone and laptop is one message to them) and test sends (a
    marketer checking a campaign on a test profile takes nothing from that person's day).
    One grouped query over the index on (profile, sent_at)."""
    if not profile_ids or (settings.daily_cap is None and settings.weekly_cap is None):
        return set()
    found = at_cap(settings, now=now, dispatch_id=dispatch_id).filter(profile_id__in=profile_ids)
    return set(found.values_list("profile_id", flat=True))


def at_cap(settings, *, now, dispatch_id=None, headroom=0):
    """The ``capped_profiles`` rule as a query of the ``profile_id`` of everyone at a cap (or
    within ``headroom`` sends of one), for the caller to narrow (a batch's profiles) or to
    use as a sub-query (the forecast counts a whole audience with it,
    ``campaigns/actions/forecast.py``). Nobody when no cap is set."""
    daily, weekly = settings.daily_cap, settings.weekly_cap
    if daily is None and weekly is None:
        return Message.objects.none().values("profile_id")
    since = now - timedelta(days=7 if weekly is not None else 1)
    sends = Message.objects.filter(status__in=(Message.Status.SENT, Message.Status.SENDING), sent_at__gte=since)
    if dispatch_id is not None:
        sends = sends.exclude(dispatch_id=dispatch_id)
    counts = (
        sends.exclude(dispatch__is_test=True)
        .values("profile_id")
        .annotate(
            day=Count("dispatch_id", distinct=True, filter=Q(sent_at__gte=now - timedelta(days=1))),
            week=Count("dispatch_id", distinct=True),
        )
    )
    reached = Q()
    if daily is not None:
        reached |= Q(day__gte=daily - headroom)
    if weekly is not None:
        reached |= Q(week__gte=weekly - headroom)
    return counts.filter(reached).values("profile_id")
