"""Demo campaigns for ``seed_demo``: one in each state a newcomer should see.

A draft, a scheduled recurring web push, a running live mobile campaign, and a
completed one-time web push with its run and messages (so the list's "sent so far"
and the campaign page's run history have something to show). Each is made once, by
name: seeding again leaves existing ones as they are. Two saved demo segments are
made the same way; their reach is not counted here (the segment page counts it), so
seeding stays quick on a large demo audience.
"""

import random
from datetime import time, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from campaigns.actions.lifecycle import do_schedule
from campaigns.models import Campaign, CampaignRun, Label, Variant
from delivery.models import Dispatch, Message
from segments.models import Device, Segment

SEGMENTS = {
    "Gold and Platinum customers": {
        "match": "all",
        "conditions": [{"kind": "property", "name": "customer_type", "op": "in", "values": ["Gold", "Platinum"]}],
    },
    "Shoppers of the last 30 days": {
        "match": "all",
        "conditions": [
            {
                "kind": "event",
                "event": "Product Viewed",
                "count": {"op": "at_least", "value": 1},
                "window": {"type": "last_days", "days": 30},
            },
        ],
    },
    # The seed's own example (001: California, English, aged 25 to 40).
    "English speakers in California, 25 to 40": {
        "match": "all",
        "conditions": [
            {"kind": "geo", "field": "region", "op": "in", "values": ["California"]},
            {"kind": "field", "field": "language", "op": "equals", "value": "en"},
            {"kind": "age", "min": 25, "max": 40},
        ],
    },
}
# Messages written for the completed campaign's run: enough for its counts to read real.
SENT_MESSAGES = 300
ALL_STEPS = ["who", "when", "what", "setup"]


def seed(stdout, **options):
    now = timezone.now()
    owner = get_user_model().objects.filter(username="marketer").first()
    segments = {
        name: Segment.objects.get_or_create(name=name, is_adhoc=False, defaults={"rules": rules, "owner": owner})[0]
        for name, rules in SEGMENTS.items()
    }
    made, specs = [], _campaigns(now, segments)
    for name, fields, content, labels in specs:
        if Campaign.objects.filter(name=name).exists():
            continue
        # A scheduled one goes through the named action, which also sets the schedule row
        # (next_run_at) the dispatcher claims: made as a draft first, then scheduled.
        to_schedule = fields.get("status") == Campaign.Status.SCHEDULED
        if to_schedule:
            fields = {**fields, "status": Campaign.Status.DRAFT}
        campaign = Campaign.objects.create(name=name, owner=owner, **fields)
        Variant.objects.create(campaign=campaign, position=0, name="A", content=content)
        campaign.labels.set([Label.objects.get_or_create(name=label)[0] for label in labels])
        if to_schedule:
            do_schedule(campaign, user=owner, now=now)
        if campaign.status == Campaign.Status.COMPLETED:
            _completed_run(campaign, now)
        made.append(name)
    stdout.write(f"Demo campaigns: {len(made)} added, {len(specs) - len(made)} already there.")


def _campaigns(now, segments):
    gold, shoppers = segments["Gold and Platinum customers"], segments["Shoppers of the last 30 days"]
    return [
        (
            "Summer collection teaser",
            {
                "channel": Campaign.Channel.WEB_PUSH,
                "kind": Campaign.Kind.ONE_TIME,
                "segment": shoppers,
                "steps_done": ["who"],
            },
            {"title": "Summer is coming", "body": "A first look at the new collection."},
            ["Seasonal"],
        ),
        (
            "Weekly picks for you",
            {
                "channel": Campaign.Channel.WEB_PUSH,
                "kind": Campaign.Kind.RECURRING,
                "status": Campaign.Status.SCHEDULED,
                "segment": gold,
                "repeat": Campaign.Repeat.WEEKLY,
                "weekdays": [0, 3],
                "send_time": time(10, 0),
                "timezone": "Europe/London",
                "scheduled_at": now,
                "steps_done": ALL_STEPS,
                "goal_event": "Charged",
                "goal_window_minutes": 24 * 60,
                "revenue_property": "amount",
            },
            {
                "title": "{{ profile.first_name | default: 'Hi' }}, this week's picks",
                "body": "Hand-picked for {{ profile.customer_type | default: 'you' }} members.",
                "url": "https://shop.example.com/picks",
            },
            ["Retention", "Weekly"],
        ),
        (
            "Abandoned cart reminder",
            {
                "channel": Campaign.Channel.MOBILE_PUSH,
                "kind": Campaign.Kind.INACTION,
                "status": Campaign.Status.RUNNING,
                "segment": shoppers,
                "platforms": ["android", "ios"],
                "trigger_event": "Added To Cart",
                "inaction_event": "Charged",
                "inaction_minutes": 60,
                "daily_limit": 500,
                "scheduled_at": now - timedelta(days=3),
                "started_at": now - timedelta(days=3),
                "steps_done": ALL_STEPS,
                "goal_event": "Charged",
                "goal_window_minutes": 48 * 60,
                "goal_after": Campaign.GoalAfter.CLICKED,
                "revenue_property": "amount",
                "control_group_percent": 10,
            },
            {"title": "Still thinking it over?", "body": "Your cart is waiting.", "sound": "default"},
            ["Cart"],
        ),
        (
            "Spring sale announcement",
            {
                "channel": Campaign.Channel.WEB_PUSH,
                "kind": Campaign.Kind.ONE_TIME,
                "status": Campaign.Status.COMPLETED,
                "segment": gold,
                "send_at": now - timedelta(days=5),
                "scheduled_at": now - timedelta(days=7),
                "started_at": now - timedelta(days=5),
                "ended_at": now - timedelta(days=5) + timedelta(minutes=4),
                "steps_done": ALL_STEPS,
            },
            {"title": "Spring sale: 20% off", "body": "Three days only.", "ttl": 86400},
            ["Seasonal", "Sale"],
        ),
    ]


def _completed_run(campaign, now):
    """A finished run of ``campaign`` with a dispatch and messages to allowed web devices."""
    started = campaign.started_at
    dispatch = Dispatch.objects.create(
        channel=Dispatch.Channel.WEB_PUSH,
        label=f"{campaign.name}: run of {started:%Y-%m-%d %H:%M}",
        contents={"A": campaign.variants.get().content},
        status=Dispatch.Status.DONE,
        started_at=started,
        finished_at=campaign.ended_at,
    )
    devices = list(
        Device.objects.filter(platform=Device.Platform.WEB, push_status=Device.PushStatus.ALLOWED)
        .order_by("pk")
        .values_list("pk", "profile_id")[:SENT_MESSAGES]
    )
    rng = random.Random(campaign.name)  # noqa: S311 - demo data, not a secret
    messages = []
    for device_id, profile_id in devices:
        failed = rng.random() < 0.04
        sent_at = started + timedelta(seconds=rng.randrange(240))
        clicked = not failed and rng.random() < 0.08
        messages.append(
            Message(
                dispatch=dispatch,
                profile_id=profile_id,
                device_id=device_id,
                variant="A",
                status=Message.Status.FAILED if failed else Message.Status.SENT,
                code="token_invalid" if failed else "",
                attempts=1,
                sent_at=None if failed else sent_at,
                viewed_at=None if failed else sent_at + timedelta(seconds=rng.randrange(5, 600)),
                clicked_at=sent_at + timedelta(minutes=rng.randrange(1, 120)) if clicked else None,
            )
        )
    Message.objects.bulk_create(messages, batch_size=1000)
    # Dated when the run ended, not when the seed ran: a refused push has no sent_at, and the
    # roll-up dates it by updated_at (auto_now, so set after the insert). Otherwise the home
    # page's "Sent today" and the trend would show a campaign that ended days ago.
    Message.objects.filter(dispatch=dispatch).update(updated_at=campaign.ended_at)
    people = len({profile_id for _, profile_id in devices})
    CampaignRun.objects.create(
        campaign=campaign,
        planned_at=campaign.send_at,
        status=CampaignRun.Status.COMPLETED,
        dispatch=dispatch,
        qualified=people,
        targeted=people,
        started_at=started,
        finished_at=campaign.ended_at,
    )
