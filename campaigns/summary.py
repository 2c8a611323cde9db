"""A campaign in words, step by step: what Overview and the campaign page show.

``sections(campaign)`` gives one section per wizard step, each a list of (label, text)
rows and, for a draft, the link back to that step. ``rules_text`` reads a segment's
rule tree (segments/rules/tree.py) as one sentence.
"""

from django.urls import reverse
from django.utils import timezone

from campaigns import schedule, targeting
from campaigns.forms.what import Browsers
from campaigns.forms.what.content import ExitIntentContentForm
from campaigns.forms.what.onboarding import PermissionRequestContentForm
from campaigns.models import Campaign
from delivery.actions import besttime
from segments.forms.builder import OP_LABELS
from segments.rules.tree import FIELD_LABELS

MATCH_WORDS = {"all": " and ", "any": " or "}
CHECK_WORDS = {
    "push_reachable": "can receive push",
    "has_email": "has an email address",
    "has_phone": "has a phone number",
    "email_unsubscribed": "unsubscribed from email",
    "sms_unsubscribed": "unsubscribed from SMS",
}
COUNT_WORDS = {"at_least": "at least", "at_most": "at most", "exactly": "exactly"}
DATE_WORDS = {"greater": "is after", "less": "is before"}  # a profile field's dates
DAY_WORDS = {"in_last_days": "in the last {days} days", "over_days_ago": "more than {days} days ago"}
# What-step content keys shown as the message itself rather than among the options.
MAIN_KEYS = ("title", "subtitle", "body")
# Every other content key (delivery/content.py lists them per channel) in a marketer's
# words. A key missing here would be shown raw ("Ttl"): campaigns/tests/test_summary_labels.py
# fills every field of every channel's form and checks each key it saves is here.
OPTION_LABELS = {
    "url": "Deep link",
    "image": "Image",
    "icon": "Icon",
    "no_icon": "Without an icon",
    "ttl": "Time to live",
    "require_interaction": "Stays on screen until clicked or closed",
    "buttons": "Buttons",
    "kv": "Key-value pairs",
    "linked": "Linked Content",
    "browsers": "Browsers",
    "ios_media_url": "iOS media URL",
    "ios_media_type": "iOS media type",
    "sound": "Sound",
    "badge": "Badge count",
    "category": "iOS category",
    "mutable_content": "iOS notification service extension (mutable-content)",
    "content_available": "Silent push that wakes the app (content-available)",
    "collapse_key": "Collapse key",
    "android_priority": "Android priority",
    "android_channel_id": "Android notification channel",
    "carousel": "Carousel",
    "button_text": "Button text",
    "click_action": "On click",
    "click_url": "Link",
    "js_function": "JavaScript function",
    "inbox": "Copy to App Inbox",
    "template": "Template",
    "subscribe_text": "Subscribe button",
    "later_text": "Maybe later button",
    "later_days": "After “Maybe later”, ask again after",
    "categories": "Categories",
}
# Option values that are codes, in words (the What step's own choices).
OPTION_VALUES = {
    "browsers": dict(Browsers.CHOICES),
    "click_action": {
        ExitIntentContentForm.Click.NONE: "close the pop-up",
        ExitIntentContentForm.Click.LINK: "open the link",
        ExitIntentContentForm.Click.JS: "run a JavaScript function",
    },
    "ios_media_type": {"image": "image", "video": "video"},
    "template": dict(PermissionRequestContentForm.Template.CHOICES),
    "android_priority": {"high": "high", "max": "maximum"},
}
UPCOMING_SHOWN = 3
# A one-time campaign whose time passed before it ran needs a new time; one that ran has none ahead.
WAITING_TO_RUN = {Campaign.Status.DRAFT, Campaign.Status.SCHEDULED}


def sections(campaign, *, now=None):
    """[{step, title, edit_url, rows: [(label, text)], variants?}] for Who, When, What, Setup."""
    now = now or timezone.now()
    editable = campaign.is_draft

    def section(step, rows, **extra):
        # Channel and type are chosen once, when the draft is made: Start has no edit page.
        url = reverse(f"campaigns:{step}", args=[campaign.pk]) if editable and step != Campaign.Step.START else None
        return {"step": step, "title": Campaign.Step(step).label, "edit_url": url, "rows": rows, **extra}

    return [
        section(Campaign.Step.START, _start_rows(campaign)),
        section(Campaign.Step.WHO, _who_rows(campaign)),
        section(Campaign.Step.WHEN, _when_rows(campaign, now)),
        section(Campaign.Step.WHAT, _what_rows(campaign), variants=_variants(campaign)),
        section(Campaign.Step.SETUP, _setup_rows(campaign)),
    ]


def _start_rows(campaign):
    return [("Channel", campaign.get_channel_display()), ("Type", campaign.get_kind_display())]


def _who_rows(campaign):
    rows = []
    segment = campaign.segment
    if segment is None and campaign.kind == Campaign.Kind.API_TRIGGERED and Campaign.Step.WHO in campaign.steps_done:
        rows.append(("Segment", "Everyone a request names"))
    elif segment is None and campaign.is_live and Campaign.Step.WHO in campaign.steps_done:
        pop_up = campaign.channel == Campaign.Channel.EXIT_INTENT
        rows.append(("Segment", "Everyone the targeting matches" if pop_up else "Everyone who does the trigger"))
    elif segment is None:
        rows.append(("Segment", "Not chosen yet"))
    elif segment.is_adhoc:
        rows.append(("Segment", f"Ad-hoc segment: {rules_text(segment.rules)}"))
    else:
        rows.append(("Segment", segment.name))
        rows.append(("Rules", rules_text(segment.rules)))
    if targeting.is_push(campaign):
        rows.append(("Target devices", targeting.describe(campaign)))
    if campaign.channel == Campaign.Channel.EXIT_INTENT:
        names = ", ".join(campaign.sites.order_by("name").values_list("name", flat=True))
        rows.append(("Websites", names or "Not chosen yet"))
    if segment is not None and segment.last_reach is not None:
        reach = f"{segment.last_reach:,} qualified"
        # A banner asks people push does not reach yet (the Who step counts them): no push reach.
        reachable = {} if targeting.reach_devices(campaign) == "ask" else segment.last_reachable or {}
        per = targeting.reach_rows(campaign, reachable)
        if len(per) > 1 or (per and per[0][0] != "web"):
            # Per platform (seed 002 "Target devices"): a person with a phone and a browser counts on each.
            reach += f"; reachable: {', '.join(f'{label} {count:,}' for _, label, count in per)}"
        elif "web" in reachable:
            reach += f", {reachable['web']:,} reachable by web push"
        if segment.last_computed_at:
            reach += f" (estimated {segment.last_computed_at:%d %b %Y %H:%M} UTC)"
        rows.append(("Estimated reach", reach))
    if campaign.reach_mode == Campaign.ReachMode.CAP and campaign.target_cap and campaign.is_live:
        # First come, first served (campaigns.allocation.LiveLimits); a scheduled run draws at random.
        rows.append(("Send to", f"the first {campaign.target_cap:,} who qualify, then it completes"))
    elif campaign.reach_mode == Campaign.ReachMode.CAP and campaign.target_cap:
        rows.append(("Send to", f"a random {campaign.target_cap:,} of those who qualify"))
    else:
        rows.append(("Send to", "everyone who qualifies"))
    if campaign.run_limit:
        rows.append(("Run limit", f"at most {campaign.run_limit:,} people per run"))
    if campaign.daily_limit:
        rows.append(("Daily limit", f"at most {campaign.daily_limit:,} people a day"))
    if campaign.safety_limit:
        rows.append(("Safety check", f"do not run if more than {campaign.safety_limit:,} qualify; alert the owner"))
    return rows


def _when_rows(campaign, now):
    rows = [("Schedule", schedule.describe(campaign))]
    if not campaign.is_live and campaign.channel != Campaign.Channel.EXIT_INTENT:
        tz = schedule.zone(campaign.timezone)
        coming = schedule.upcoming(campaign, after=now, count=UPCOMING_SHOWN)
        text = ", ".join(f"{moment.astimezone(tz):%a %d %b %Y %H:%M}" for moment in coming)
        if campaign.send_now and not campaign.scheduled_at:
            text = "The moment it is scheduled"
        elif schedule.passed(campaign, now) and campaign.status in WAITING_TO_RUN:
            # A warning only while the time still matters: a run that happened is not "passed".
            text = f"None: {campaign.send_at.astimezone(tz):%a %d %b %Y %H:%M} ({tz.key}) has passed"
        else:
            text = f"{text} ({tz.key})" if coming else "None ahead"
        rows.append(("Next runs", text))
    if campaign.dnd_enabled and campaign.dnd_start and campaign.dnd_end:
        action = "discarded" if campaign.dnd_action == Campaign.DndAction.DISCARD else "delayed until it ends"
        rows.append(
            ("Do not disturb", f"{campaign.dnd_start:%H:%M} to {campaign.dnd_end:%H:%M}; messages are {action}")
        )
    if campaign.best_time and not campaign.is_live:
        rows.append(
            (
                "Best time",
                f"within 24 hours of each run's time, each person at the hour they were most active in the last"
                f" {besttime.WINDOW.days} days, in their own time zone; {campaign.best_time_fallback_hour:02d}:00"
                f" there for fewer than {besttime.MIN_EVENTS} events",
            )
        )
    if campaign.cutoff_time and campaign.channel == Campaign.Channel.EXIT_INTENT:
        rows.append(("Cut-off", f"no pop-up after {campaign.cutoff_time:%H:%M} until midnight"))
    elif campaign.cutoff_time:
        rows.append(("Cut-off", f"nothing is delivered after {campaign.cutoff_time:%H:%M}"))
    rows.append(("Global limits", "not applied" if campaign.skip_global_limits else "applied"))
    return rows


def _what_rows(campaign):
    rows = [("Message type", campaign.get_message_type_display())]
    if campaign.message_type == Campaign.MessageType.AB and campaign.ab_test_size:
        unit = "%" if campaign.ab_mode == Campaign.AbMode.PERCENT else " users"
        size = f"{campaign.ab_test_size}{unit}"
        wait = f", winner after {schedule.duration(campaign.ab_test_minutes)}" if campaign.ab_test_minutes else ""
        rows.append(("A/B test", f"test population {size}{wait}"))
    if campaign.message_type == Campaign.MessageType.BY_PROPERTY:
        rows.append(("By property", campaign.property_name or "not chosen yet"))
    return rows


def _variants(campaign):
    found = []
    for variant in campaign.variants.all():
        content = variant.content or {}
        name = variant.name
        if variant.property_value:
            name = f"{variant.name} ({campaign.property_name} = {variant.property_value})"
        elif variant.is_fallback:
            name = f"{variant.name} (everyone else)"
        options = [(option_label(k), option_text(k, value)) for k, value in content.items() if k not in MAIN_KEYS]
        found.append(
            {
                "name": name,
                "title": content.get("title", ""),
                "subtitle": content.get("subtitle", ""),
                "body": content.get("body", ""),
                "options": [(key, value) for key, value in options if value not in ("", None)],
            }
        )
    return found


def option_label(key):
    return OPTION_LABELS.get(key) or key.replace("_", " ").capitalize()


def option_text(key, value):
    """A content option's value in words; None for one that is off (a false flag)."""
    if key in OPTION_VALUES:
        return OPTION_VALUES[key].get(value, value)
    if key == "ttl" and isinstance(value, int):
        return f"{value:,} seconds" + (f" ({schedule.duration(value // 60)})" if value >= 60 else "")
    if key == "kv" and isinstance(value, dict):
        return ", ".join(f"{k} = {v}" for k, v in value.items())
    if key == "later_days" and isinstance(value, int):
        return f"{value:,} day" + ("" if value == 1 else "s")
    if key == "inbox" and isinstance(value, dict):
        return _inbox_text(value)
    return _option(value)


def _inbox_text(section):
    """The App Inbox copy's settings in words: what it says if not the push's, its colours,
    tags and how long it stays (campaigns/forms/what/inbox.py)."""
    parts = [f"{INBOX_WORDS[key]} {section[key]}" for key in INBOX_WORDS if section.get(key)]
    if section.get("tags"):
        parts.append("tags " + ", ".join(section["tags"]))
    ttl = section.get("ttl")
    if isinstance(ttl, int):
        parts.append(f"kept {schedule.duration(ttl // 60)}")
    return "yes: " + " · ".join(parts) if parts else "yes"


INBOX_WORDS = {
    "title": "title",
    "body": "message",
    "title_color": "title colour",
    "body_color": "message colour",
    "background_color": "background",
}


def _option(value):
    if isinstance(value, bool):
        return "yes" if value else None
    if isinstance(value, dict):
        # A list item (a button, a carousel card, a Linked Content source): its words and
        # then its address, e.g. "Buy now → https://shop.example.com/sale".
        words = [str(v) for k, v in value.items() if k not in ("url", "image") and v not in ("", None)]
        links = [str(value[k]) for k in ("image", "url") if value.get(k)]
        return " → ".join(part for part in (" · ".join(words), " · ".join(links)) if part)
    if isinstance(value, list):
        return "; ".join(_option(item) or "" for item in value)
    return value


def _setup_rows(campaign):
    rows = [
        ("Control group", f"{campaign.control_group_percent} % held out" if campaign.control_group_percent else "none"),
        ("Labels", ", ".join(label.name for label in campaign.labels.all()) or "none"),
    ]
    if campaign.channel == Campaign.Channel.PERMISSION_REQUEST:
        rows.append(("Conversion goal", "the subscription: Subscribed and the subscribe rate"))  # forms/setup.py
    elif campaign.goal_event:
        goal = campaign.goal_event + _goal_filters(campaign.goal_filters)
        if campaign.goal_window_minutes:
            goal += f", within {schedule.duration(campaign.goal_window_minutes)}"
        goal += f" {campaign.get_goal_after_display()}"
        rows.append(("Conversion goal", goal))
        if campaign.revenue_property:
            rows.append(("Revenue", f"from the event's {campaign.revenue_property}"))
    else:
        rows.append(("Conversion goal", "none"))
    return rows


def _goal_filters(filters):
    shown = []
    for item in filters or []:
        value = item.get("value")
        if item.get("operator") == "between" and isinstance(value, list):
            value = " and ".join(str(v) for v in value)
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        shown.append(
            f"{item.get('property')} {OP_LABELS.get(item.get('operator'), item.get('operator'))} {value or ''}"
        )
    return f" where {' and '.join(s.strip() for s in shown)}" if shown else ""


# Rules in words.


def rules_text(rules):
    """A rule tree as a sentence: "customer_type equals Gold and did Charged at least 1 time"."""
    if not isinstance(rules, dict) or not rules.get("conditions"):
        return "everyone"
    return _group(rules, top=True)


def _group(group, top=False):
    parts = [
        _group(item) if isinstance(item, dict) and "conditions" in item else _condition(item)
        for item in group.get("conditions", [])
    ]
    match = group.get("match", "all")
    if match == "none":
        return "none of (" + "; ".join(parts) + ")"
    text = MATCH_WORDS.get(match, " and ").join(parts)
    return text if top or len(parts) < 2 else f"({text})"


def _condition(rule):
    kind = rule.get("kind") if isinstance(rule, dict) else None
    if kind in ("property", "app_field"):
        return _comparison(rule.get("name") or rule.get("field", ""), rule)
    if kind == "field":  # a profile field: its label, and day operators as words
        label = FIELD_LABELS.get(rule.get("field"), rule.get("field"))
        if rule.get("field") == "is_test":
            return "is a test profile" if rule.get("value") else "is not a test profile"
        if rule.get("op") in DAY_WORDS:
            return f"{label} {DAY_WORDS[rule['op']].format(days=rule.get('value'))}"
        return _comparison(label, rule | {"op": DATE_WORDS.get(rule.get("op"), rule.get("op"))})
    if kind == "age":
        return f"aged {rule.get('min')} to {rule.get('max')}"
    if kind == "gender":
        return f"gender is {' or '.join(rule.get('values', []))}"
    if kind == "geo":
        verb = "is not" if rule.get("op") == "not_in" else "is"
        return f"{rule.get('field')} {verb} {', '.join(rule.get('values', []))}"
    if kind == "radius":
        places = ", ".join(place.get("label") or f"{place.get('lat')},{place.get('lon')}" for place in rule["places"])
        return f"within {rule.get('km')} km of {places}"
    if kind == "reachability":
        check = CHECK_WORDS.get(rule.get("check"), rule.get("check"))
        channel = rule.get("channel", "any")
        text = f"{check}{f' ({channel})' if channel != 'any' else ''}"
        return text if rule.get("value", True) else f"not {text}"
    if kind in ("push_status", "push_category"):
        values = " or ".join(str(value) for value in rule.get("values", []))
        channel = rule.get("channel", "any")
        if kind == "push_category":
            return f"subscribed to {values} ({'any device' if channel == 'any' else channel})"
        return f"{'push status on any device' if channel == 'any' else f'{channel} push status'} is {values}"
    if kind == "event":
        count = rule.get("count") or {"op": "at_least", "value": 1}
        times = (
            f"{COUNT_WORDS.get(count.get('op'), '')} {count.get('value')} time{'s' if count.get('value') != 1 else ''}"
        )
        text = f"{'did' if rule.get('did', True) else 'did not do'} {rule.get('event')} {times}"
        window = rule.get("window") or {}
        if window.get("type") == "last_days":
            text += f" in the last {window.get('days')} days"
        elif window.get("type") == "between":
            text += f" between {window.get('start')} and {window.get('end')}"
        return text + _filters_text(rule.get("filters"))
    if kind == "live_event":
        return f"does {rule.get('event')} (live){_filters_text(rule.get('filters'))}"
    return str(kind or "a condition")


def _comparison(name, rule):
    op = rule.get("op", "equals")
    words = OP_LABELS.get(op, op)
    if op in ("is_set", "is_not_set"):
        return f"{name} {words}"
    if op == "in":
        return f"{name} {words} {', '.join(str(v) for v in rule.get('values', []))}"
    if op == "between":
        return f"{name} {words} {rule.get('min')} and {rule.get('max')}"
    return f"{name} {words} {rule.get('value')}"


def _filters_text(filters):
    shown = [_comparison(item.get("name", ""), item) for item in filters or [] if isinstance(item, dict)]
    return f" with {' and '.join(shown)}" if shown else ""
