"""Conversions: goal events credited to the message that led to them, and to control groups.

A campaign's goal is an event name, property filters (``Campaign.goal_filters``, stored by
the Setup step as ``[{property, operator, value}]`` and checked here with the segments
matcher, so "amount greater 10" means what it means in a segment), a funnel conversion
time, and whether that time runs from the send or from the click.

An event that matches credits, per campaign, the latest of the profile's messages of that
campaign whose window holds the event and which has not converted yet: a message converts
at most once, and an event converts at most one message per campaign (both are unique
constraints, so a task run twice credits nothing twice). Revenue is the event's numeric
``revenue_property``; text that looks like a number is not a number (as in segments).

A profile held out of a run (``ControlMember``) converts for that run when a matching event
falls inside the window after the run started: there is no message to start it from.
"""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.db.models.functions import Coalesce

from campaigns.models import Campaign, CampaignRun, ControlMember, LiveTrigger
from delivery.models import Message
from segments.numbers import parse_number
from segments.rules import tree
from segments.rules.matcher import json_comparison
from stats.actions.tracking import note_changed
from stats.models import ControlConversion, Conversion


def goal_comparisons(campaign):
    """The campaign's goal filters as segment comparisons (unparseable ones match nothing)."""
    found = []
    for item in campaign.goal_filters or []:
        op, value = item.get("operator") or "equals", item.get("value")
        if op in tree.SET_OPS:
            rule = {"op": op}
        elif op == "in":
            rule = {"op": op, "values": [_typed(v) for v in value or []]}
        elif op == "between":
            low, high = (value or [None, None])[:2]
            rule = {"op": op, "min": low, "max": high}
        elif op in ("equals", "not_equals"):
            rule = {"op": op, "value": _typed(value)}
        else:
            rule = {"op": op, "value": value}
        try:
            found.append(tree.comparison(rule, item.get("property", "")))
        except ValueError:
            return None
    return found


def _typed(text):
    """Setup stores what was typed; "50" compares with the number 50, read by the segment
    builder's parser (so "1e400" or "inf" stays text, as it would there)."""
    number = parse_number(text)
    return text if number is None else number


def goal_matches(comparisons, properties):
    return comparisons is not None and all(json_comparison(properties or {}, c) for c in comparisons)


def revenue_of(campaign, properties):
    if not campaign.revenue_property:
        return None
    value = (properties or {}).get(campaign.revenue_property)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and abs(amount) < Decimal("1e12") else None


def credit_conversions(events):
    """Credit goal events (dicts of Event fields). Returns (conversions, control conversions)."""
    names = {event["name"] for event in events}
    campaigns = list(
        Campaign.objects.filter(goal_event__in=names, goal_window_minutes__isnull=False).exclude(
            status=Campaign.Status.DRAFT
        )
    )
    if not campaigns:
        return 0, 0
    goals = defaultdict(list)
    for campaign in campaigns:
        goals[campaign.goal_event].append((campaign, goal_comparisons(campaign)))
    dispatches = _dispatches_of(campaigns)
    credited = controls = 0
    touched = set()
    for event in events:
        for campaign, comparisons in goals.get(event["name"], ()):
            if not goal_matches(comparisons, event["properties"]):
                continue
            dispatch_id = _credit_message(campaign, dispatches[campaign.pk], event)
            if dispatch_id:
                credited += 1
                touched.add(dispatch_id)
            controls += _credit_control(campaign, event)
    note_changed(touched)
    return credited, controls


def _dispatches_of(campaigns):
    """{campaign id: [dispatch id]} of their runs (an A/B run has two: the test and the rest)."""
    found = defaultdict(list)
    rows = CampaignRun.objects.filter(campaign__in=campaigns).values_list("campaign_id", "dispatch_id", "remainder_id")
    for campaign_id, dispatch_id, remainder_id in rows:
        found[campaign_id] += [pk for pk in (dispatch_id, remainder_id) if pk]
    return found


def _credit_message(campaign, dispatch_ids, event):
    if not dispatch_ids:
        return None
    at, window = event["occurred_at"], timedelta(minutes=campaign.goal_window_minutes)
    messages = Message.objects.filter(
        profile_id=event["profile_id"], status=Message.Status.SENT, dispatch_id__in=dispatch_ids, sent_at__lte=at
    ).exclude(Exists(Conversion.objects.filter(message=OuterRef("pk"))))
    if campaign.goal_after == Campaign.GoalAfter.CLICKED:
        messages = messages.filter(clicked_at__lte=at, clicked_at__gte=at - window).order_by("-clicked_at", "-pk")
    else:
        messages = messages.filter(sent_at__gte=at - window).order_by("-sent_at", "-pk")
    message = messages.values("pk", "dispatch_id", "variant").first()
    if message is None:
        return None
    try:
        with transaction.atomic():
            Conversion.objects.create(
                message_id=message["pk"],
                campaign=campaign,
                dispatch_id=message["dispatch_id"],
                variant=message["variant"],
                event_id=event["id"],
                occurred_at=at,
                revenue=revenue_of(campaign, event["properties"]),
            )
    except IntegrityError:  # this event or this message was credited already (a task run twice)
        return None
    return message["dispatch_id"]


def _credit_control(campaign, event):
    # When the person was held out: a live send's (or a pop-up's) LiveTrigger says when, as
    # a pop-up campaign's run of the day holds people held out all day long; a scheduled
    # run's members were all held out when it started.
    at, window = event["occurred_at"], timedelta(minutes=campaign.goal_window_minutes)
    held = LiveTrigger.objects.filter(
        run=OuterRef("run"), profile=OuterRef("profile"), status=LiveTrigger.Status.HELD_OUT
    ).values("decided_at")[:1]
    member = (
        ControlMember.objects.filter(profile_id=event["profile_id"], run__campaign=campaign)
        .annotate(held_at=Coalesce(Subquery(held), F("run__started_at")))
        .filter(held_at__lte=at, held_at__gte=at - window)
        .exclude(Exists(ControlConversion.objects.filter(run=OuterRef("run"), profile=OuterRef("profile"))))
        .order_by("-held_at")
        .values("run_id")
        .first()
    )
    if member is None:
        return 0
    try:
        with transaction.atomic():
            ControlConversion.objects.create(
                run_id=member["run_id"],
                profile_id=event["profile_id"],
                event_id=event["id"],
                occurred_at=at,
                revenue=revenue_of(campaign, event["properties"]),
            )
    except IntegrityError:
        return 0
    return 1
