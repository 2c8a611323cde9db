"""When a campaign runs: its next planned times and the schedule in one sentence.

Pure functions of a campaign's When fields (nothing is read from or written to the
database), shared by the When step, Overview and the scheduler. Planned times are
computed on the campaign's wall clock in its time zone and returned in UTC, so a run
"every Monday at 09:00 America/New_York" stays at 09:00 local across a DST change.
"""

import calendar
from datetime import UTC, date, datetime, timedelta

from django.utils.dateparse import parse_datetime

from delivery.durations import duration  # campaigns and stats call it schedule.duration
from delivery.zones import zone  # one zone() for every app: UTC for an unknown name

OP_WORDS = {
    "equals": "is",
    "not_equals": "is not",
    "contains": "containing",
    "starts_with": "starting with",
    "greater": "over",
    "less": "under",
}
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# How far ahead a recurring schedule is searched for its next runs. Weekly on a chosen
# day every 99 weeks is the sparsest schedule the form allows; 20 years covers it.
HORIZON_DAYS = 20 * 366


def wall_clock_exists(naive, tz):
    """Whether ``naive`` is a time the clocks in ``tz`` show at all: 02:30 on the
    night the clocks go forward does not exist in America/New_York."""
    aware = naive.replace(tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive


def to_utc(naive, tz):
    """A wall-clock time in ``tz`` as an aware UTC datetime. An ambiguous time (the
    hour repeated when clocks go back) is its first occurrence (fold=0)."""
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def local(moment, tz):
    """An aware datetime as a naive wall-clock time in ``tz`` (for form fields)."""
    return moment.astimezone(tz).replace(tzinfo=None) if moment else None


def parse_dates(values):
    """The multiple-dates list (ISO 8601 strings in UTC) as aware datetimes, sorted;
    values that do not parse are skipped."""
    found = []
    for value in values if isinstance(values, list) else []:
        moment = parse_datetime(value) if isinstance(value, str) else None
        if moment is not None:
            found.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return sorted(found)


def passed(campaign, now):
    """Whether a one-time campaign's chosen send time is no longer ahead of ``now`` (the
    time slipped while the wizard was filled in). Send now never passes."""
    if campaign.kind != "one_time" or campaign.send_now:
        return False
    return campaign.send_at is not None and campaign.send_at <= now


def upcoming(campaign, *, after, count=5):
    """The next ``count`` planned times (aware, UTC) of a one-time, multi-date or
    recurring campaign, never before ``after`` (nor before the campaign's start or
    the moment it was scheduled) and never after its end. Live campaigns have none.

    Recurring days follow the seeds' rule: the first run is the next matching day on
    or after the start, never a prior date. A monthly day the month lacks (the 31st in
    April) falls on the month's last day."""
    kind = campaign.kind
    floor = max(moment for moment in (after, campaign.starts_at, campaign.scheduled_at) if moment)
    if kind == "one_time" and campaign.send_now:
        # "Send now": its one firing is the moment it was scheduled (none before that).
        candidates = [campaign.scheduled_at] if campaign.scheduled_at else []
    elif kind == "one_time":
        candidates = [campaign.send_at] if campaign.send_at else []
    elif kind == "multiple_dates":
        candidates = parse_dates(campaign.dates)
    elif kind == "recurring":
        candidates = _recurring(campaign, floor)
    else:
        return []
    found = []
    for moment in candidates:
        if moment < floor:
            continue
        if campaign.ends_at and moment > campaign.ends_at:
            break
        found.append(moment.astimezone(UTC))
        if len(found) == count:
            break
    return found


def _recurring(campaign, floor):
    """Planned times of a recurring campaign from the day of ``floor`` on, in order."""
    if not campaign.repeat or campaign.send_time is None:
        return
    tz = zone(campaign.timezone)
    every = max(campaign.repeat_every or 1, 1)
    # The period ("every 2 weeks") counts from the start, or from when it was scheduled.
    anchor = (campaign.starts_at or campaign.scheduled_at or floor).astimezone(tz).date()
    day = floor.astimezone(tz).date()
    last = day + timedelta(days=HORIZON_DAYS)
    if campaign.ends_at:
        last = min(last, campaign.ends_at.astimezone(tz).date())
    while day <= last:
        if _matches(campaign, day, anchor, every):
            yield to_utc(datetime.combine(day, campaign.send_time), tz)
        day = _next_day(campaign, day, anchor, every)


def _matches(campaign, day, anchor, every):
    if campaign.repeat == "daily":
        return (day - anchor).days % every == 0
    if campaign.repeat == "weekly":
        weeks = ((day - timedelta(days=day.weekday())) - (anchor - timedelta(days=anchor.weekday()))).days // 7
        return day.weekday() in (campaign.weekdays or []) and weeks % every == 0
    if campaign.repeat == "monthly" and campaign.month_day:
        months = (day.year - anchor.year) * 12 + day.month - anchor.month
        return months % every == 0 and day.day == _month_day(day.year, day.month, campaign.month_day)
    return False


def _next_day(campaign, day, anchor, every):
    """The next day worth looking at: daily and monthly schedules skip ahead."""
    if campaign.repeat == "daily":
        return day + timedelta(days=every - (day - anchor).days % every or every)
    if campaign.repeat == "monthly" and campaign.month_day:
        wanted = _month_day(day.year, day.month, campaign.month_day)
        if day.day < wanted:
            return day.replace(day=wanted)
        year, month = divmod(day.month, 12)  # the first of next month
        return date(day.year + year, month + 1, 1)
    if campaign.repeat == "weekly" and not campaign.weekdays:
        return date.max
    return day + timedelta(days=1)


def _month_day(year, month, wanted):
    return min(wanted, calendar.monthrange(year, month)[1])


# The schedule in words.


def describe(campaign):
    """One plain-English sentence saying when ``campaign`` sends."""
    kind = campaign.kind
    tz = zone(campaign.timezone)
    where = " in each person's own time zone" if campaign.user_timezone else f" {tz.key}"
    if campaign.channel == "exit_intent":
        return _exit_intent(campaign) + _window(campaign, tz)
    if campaign.channel == "permission_request":
        # campaigns/onboarding.py: only browsers that can take push and were not asked yet.
        return "On the next page of each visitor whose browser has not been asked for push yet (Ask)" + _window(
            campaign, tz
        )
    if kind == "one_time" and campaign.send_now:
        if campaign.scheduled_at:
            return f"Once, the moment it was scheduled ({_when(campaign.scheduled_at, tz)}){where}."
        return "Once, as soon as it is scheduled."
    if kind == "one_time":
        if not campaign.send_at:
            return "Once, at a date and time not chosen yet."
        return f"Once on {_when(campaign.send_at, tz)}{where}."
    if kind == "multiple_dates":
        dates = parse_dates(campaign.dates)
        if not dates:
            return "On several dates, none chosen yet."
        shown = [_when(moment, tz) for moment in dates[:3]]
        if len(dates) > 3:
            shown.append(f"{len(dates) - 3} more")
        return f"On {len(dates)} date{'s' if len(dates) != 1 else ''}: {_and(shown)}{where}."
    if kind == "recurring":
        return _recurring_text(campaign, tz, where)
    return _live_text(campaign) + _window(campaign, tz)


def _recurring_text(campaign, tz, where):
    if not campaign.repeat or campaign.send_time is None:
        return "Repeatedly, on days not chosen yet."
    every = max(campaign.repeat_every or 1, 1)
    unit = {"daily": "day", "weekly": "week", "monthly": "month"}[campaign.repeat]
    text = f"Every {unit}" if every == 1 else f"Every {every} {unit}s"
    if campaign.repeat == "weekly":
        text += f" on {_and([WEEKDAY_NAMES[day] for day in sorted(campaign.weekdays or [])]) or 'no day yet'}"
    elif campaign.repeat == "monthly" and campaign.month_day:
        text += f" on day {campaign.month_day}"
        if campaign.month_day > 28:
            text += " (the last day in shorter months)"
    text += f" at {campaign.send_time:%H:%M}{where}"
    start = f"from {_day(campaign.starts_at, tz)}" if campaign.starts_at else "from when it is scheduled"
    end = f" until {_day(campaign.ends_at, tz)}" if campaign.ends_at else ""
    return f"{text}, {start}{end}."


def _live_text(campaign):
    if campaign.kind == "api_triggered":
        path = f"/api/v1/campaigns/{campaign.pk or '<id>'}/send"
        return f"When your backend asks for it, to the people it names (POST {path})"
    event = campaign.trigger_event or "an event not chosen yet"
    does = f"When someone does {event}{_filters(campaign.trigger_filters)}"
    if campaign.kind == "inaction":
        cancel = campaign.inaction_event or "a second event not chosen yet"
        within = duration(campaign.inaction_minutes) if campaign.inaction_minutes else "a time not chosen yet"
        return f"{does} and not {cancel} within {within}"
    if campaign.kind == "date_property":
        prop = campaign.date_property or "a date property not chosen yet"
        offset = campaign.date_offset_minutes or 0
        # A property declared as a date counts from the start of its day (live/triggers.py).
        what = "the start of the day" if campaign.date_property_type == "date" else "the time"
        if offset == 0:
            return f"{does}: at {what} in its {prop}"
        side = "before" if offset < 0 else "after"
        return f"{does}: {duration(abs(offset))} {side} {what} in its {prop}"
    return does


def _exit_intent(campaign):
    trigger = campaign.exit_trigger or {}
    kind = trigger.get("type")
    if kind == "single_action":
        return f"When a visitor about to leave has done {trigger.get('event')}{_filters(trigger.get('filters'))}"
    if kind == "page_visit":
        match = "is" if trigger.get("match") == "equals" else "contains"
        return f"When a visitor is about to leave a page whose address {match} “{trigger.get('url')}”"
    if kind == "page_referral":
        return f"When a visitor who came from an address containing “{trigger.get('referrer')}” is about to leave"
    if kind == "page_count":
        return f"When a visitor who has seen at least {trigger.get('count')} pages this visit is about to leave"
    return "When a visitor is about to leave (targeting not chosen yet)"


def _window(campaign, tz):
    start = f", from {_day(campaign.starts_at, tz)}" if campaign.starts_at else ""
    end = f" until {_day(campaign.ends_at, tz)}" if campaign.ends_at else ""
    return f"{start}{end}."


def _filters(filters):
    shown = []
    for item in filters if isinstance(filters, list) else []:
        if isinstance(item, dict) and item.get("name"):
            op = OP_WORDS.get(item.get("op"), str(item.get("op")))
            shown.append(f"{item['name']} {op} {item.get('value', '')}".rstrip())
    return f" with {_and(shown)}" if shown else ""


def _day(moment, tz):
    day = moment.astimezone(tz)
    return f"{day.day} {day:%b %Y}"


def _when(moment, tz):
    return f"{_day(moment, tz)} at {moment.astimezone(tz):%H:%M}"


def _and(items):
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}" if items else ""
