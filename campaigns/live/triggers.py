"""Events arriving: which live campaigns they trigger, and for whom (package docstring)."""

import logging
from collections import defaultdict
from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from campaigns import schedule
from campaigns.live.sending import deliver
from campaigns.models import Campaign, LiveTrigger
from delivery.zones import person_zone
from segments.models import Device, Event
from segments.rules import tree
from segments.rules.matcher import event_names, json_comparison, matches

log = logging.getLogger(__name__)

Status = LiveTrigger.Status
PUSH_CHANNELS = (Campaign.Channel.WEB_PUSH, Campaign.Channel.MOBILE_PUSH)
PAST_DATE = "Its {name} plus the offset had already passed when the event arrived."
NOT_A_DATE = "Its {name} is missing or not a date."
WINDOW_OPEN = "A window for this person was already open."
# An event triggers a live campaign only while it is news (README, "Live campaigns"): it
# happened after the campaign went live (and after its start), and at most FRESH_FOR before
# it is evaluated. A backfill (a CSV import or an API upload of last month) or an app's queue
# flushed days late is stored for segments and stats but sends nothing; an hour covers
# an app that was offline for a while. What passes is then timed by when it happened: an
# inaction window ends ``inaction_minutes`` after the event's occurred_at, not its arrival.
FRESH_FOR = timedelta(hours=1)


def do_evaluate_events(event_ids, *, now=None):
    """Evaluate newly recorded events for every running live campaign they trigger, and
    cancel the inaction windows they close. Safe to run twice for the same ids."""
    now = now or timezone.now()
    events = list(Event.objects.filter(pk__in=set(event_ids)).select_related("profile").order_by("occurred_at", "pk"))
    if not events:
        return
    names = {event.name for event in events}
    campaigns = (
        Campaign.objects.filter(
            status=Campaign.Status.RUNNING,
            kind__in=Campaign.LIVE_KINDS,
            channel__in=PUSH_CHANNELS,
            trigger_event__in=names,
        )
        .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now), Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .select_related("segment")
        .order_by("pk")
    )
    for campaign in campaigns:
        filters = _filters(campaign)
        triggering = [e for e in events if e.name == campaign.trigger_event and _passes(e, filters)]
        triggering = news(campaign, triggering, now)
        if triggering:
            _evaluate(campaign, triggering, now)
    _cancel_windows(events, names, now)


def news(campaign, events, now):
    """The events recent enough to trigger ``campaign`` (``FRESH_FOR``); the others are logged."""
    since = max(moment for moment in (campaign.started_at, campaign.starts_at, now - FRESH_FOR) if moment)
    fresh = [event for event in events if event.occurred_at >= since]
    if len(fresh) < len(events):
        log.info("campaign %s: %d events from before %s trigger nothing", campaign.pk, len(events) - len(fresh), since)
    return fresh


def _filters(campaign):
    try:
        return [tree.comparison(item, item.get("name")) for item in campaign.trigger_filters or []]
    except (ValueError, AttributeError):
        log.warning("campaign %s: its trigger filters do not parse; nobody matches", campaign.pk)
        return None


def _passes(event, filters):
    return filters is not None and all(json_comparison(event.properties, f) for f in filters)


def _evaluate(campaign, events, now):
    with transaction.atomic():
        # The row lock orders this batch with pause / stop and with other batches of the
        # campaign, so its limits are counted once and a pause is never half-seen.
        locked = Campaign.objects.select_for_update().filter(pk=campaign.pk, status=Campaign.Status.RUNNING).first()
        if locked is None:
            return
        locked.segment = campaign.segment
        seen = set(
            LiveTrigger.objects.filter(campaign=locked, event_id__in=[e.pk for e in events]).values_list(
                "event_id", flat=True
            )
        )
        events = [event for event in events if event.pk not in seen]
        events = qualifying(locked, events, now)
        triggers = [LiveTrigger(campaign=locked, event=event, profile_id=event.profile_id) for event in events]
        if locked.kind == Campaign.Kind.SINGLE_ACTION:
            deliver(locked, triggers, now)
        elif locked.kind == Campaign.Kind.INACTION:
            _open_windows(locked, triggers, now)
        else:
            _plan_date_sends(locked, triggers, now)


def _open_windows(campaign, triggers, now):
    """Event A: send unless the inaction event follows within the window. One window per
    person at a time: a second cart while the first waits does not make a second push."""
    window = timedelta(minutes=campaign.inaction_minutes or 0)
    waiting = set(
        LiveTrigger.objects.filter(
            campaign=campaign, status=Status.PENDING, profile_id__in={t.profile_id for t in triggers}
        ).values_list("profile_id", flat=True)
    )
    for trigger in triggers:
        if trigger.profile_id in waiting:
            trigger.status, trigger.reason, trigger.decided_at = Status.SKIPPED, WINDOW_OPEN, now
        else:
            trigger.due_at = trigger.event.occurred_at + window
            waiting.add(trigger.profile_id)
    LiveTrigger.objects.bulk_create(triggers)


def _plan_date_sends(campaign, triggers, now):
    offset = timedelta(minutes=campaign.date_offset_minutes or 0)
    for trigger in triggers:
        moment = event_date(trigger.event, campaign)
        if moment is None:
            trigger.status, trigger.reason = Status.SKIPPED, NOT_A_DATE.format(name=campaign.date_property)
        elif moment + offset < now:
            trigger.status, trigger.reason = Status.SKIPPED, PAST_DATE.format(name=campaign.date_property)
        else:
            trigger.due_at = moment + offset
        if trigger.status == Status.SKIPPED:
            trigger.decided_at = now
    LiveTrigger.objects.bulk_create(triggers)


def event_date(event, campaign):
    """The moment in the event's ``date_property``: an ISO 8601 date or datetime. A date, or
    a time without an offset, is on the person's wall clock (their time zone when it is a
    valid one, else the campaign's): "the day before the trip" is the day before where they are.

    The property's type is the one declared in the When step (it may be declared before
    any event brought it): a "date" property is its day only, so "2026-06-10T15:00+02:00"
    counts from midnight of 10 June where the person is, as "2026-06-10" would."""
    value = event.properties.get(campaign.date_property)
    if not isinstance(value, str):
        return None
    try:
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)) is not None:
            moment = datetime.combine(day, time())
    except ValueError:
        return None
    if moment is None:
        return None
    if campaign.date_property_type == Campaign.DatePropertyType.DATE:
        moment = datetime.combine(moment.date(), time())
    if timezone.is_aware(moment):
        return moment
    # A profile zone that is missing or not a zone name is read as the campaign's, as delivery
    # reads DND hours and the user's time zone (``person_zone`` says why).
    zone = person_zone(event.profile.timezone, schedule.zone(campaign.timezone))
    return schedule.to_utc(moment, zone)


def qualifying(campaign, events, now):
    """The events whose person is in the campaign's segment, checked one person at a time in
    Python (``segments.rules.matcher``) with their devices and the past events it asks about."""
    if campaign.segment is None or not events:
        return events  # no segment: everyone who does the trigger
    try:
        group = tree.parse(campaign.segment.rules)
    except tree.RuleError:
        log.warning("campaign %s: its segment's rules do not parse; nobody qualifies", campaign.pk)
        return []
    profile_ids = {event.profile_id for event in events}
    devices, history = defaultdict(list), defaultdict(list)
    for device in Device.objects.filter(profile_id__in=profile_ids):
        devices[device.profile_id].append(device)
    if names := event_names(group):
        for past in Event.objects.filter(profile_id__in=profile_ids, name__in=names):
            history[past.profile_id].append(past)
    return [
        event
        for event in events
        if matches(
            group,
            event.profile,
            devices=devices[event.profile_id],
            events=history[event.profile_id],
            now=now,
            incoming=event,
        )
    ]


def _cancel_windows(events, names, now):
    """An inaction event closes its person's open windows that it falls inside."""
    campaigns = defaultdict(list)
    rows = Campaign.objects.filter(kind=Campaign.Kind.INACTION, inaction_event__in=names)
    for campaign_id, name in rows.values_list("pk", "inaction_event"):
        campaigns[name].append(campaign_id)
    for event in events:
        if event.name not in campaigns:
            continue
        LiveTrigger.objects.filter(
            campaign_id__in=campaigns[event.name],
            profile_id=event.profile_id,
            status=Status.PENDING,
            event__occurred_at__lte=event.occurred_at,
            due_at__gte=event.occurred_at,
        ).exclude(event_id=event.pk).update(
            status=Status.CANCELLED, reason=f"{event.name} came within the window.", decided_at=now
        )
