"""Soft onboarding (seed 002, "Request permissions to send pushes"): which running "Push
permission request" campaign's banner a browser gets, and what the person did with it.

The web SDK asks (``POST /sdk/v1/onboarding``, campaigns/views/onboarding.py) only when the
browser supports push and its permission is still "default", and says so; the status is
recorded through the SDK's one status path (``report_push_status``) and a prompt is given
only while the device is **Ask** (seed 002: "address only users who have Push status ...
set to Ask ... This way, we exclude those who have already granted permissions and those
who have blocked them"). Nothing is given:

- to a device whose "Maybe later" has not run out (``PermissionPrompt.later_until``, the
  campaign's ``later_days`` after the click, for every permission request of that browser);
- to a device that saw a prompt and closed it without choosing less than DISMISSED_PAUSE ago;
- to people outside the campaign's segment, or in its control group.

A prompt given but not yet shown is given again, with the same key, on the next page of the
same browser: counted once. Its text is rendered with Liquid as plain text; the SDK inserts
it with ``textContent``. Reports (shown, subscribed, blocked, later) are accepted only from
the browser the prompt was given to, each once; "subscribed" and "blocked" only once the
device's push status says so (the SDK's requestPush() has reported it), so the counts say
what happened in the browser, not what a page claimed.
"""

import logging
import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from campaigns.allocation import in_control_group
from campaigns.models import Campaign, PermissionPrompt
from campaigns.popups import in_segment
from delivery.content import ContentError, profile_context, render
from segments.actions.devices import report_push_status
from segments.models import Device

log = logging.getLogger(__name__)

SIMPLE, WITH_CATEGORIES = "simple", "categories"
DEFAULT_LATER_DAYS = 7
MAX_LATER_DAYS = 365
# Escape or the page left without a choice: not asked again on every page of the visit.
DISMISSED_PAUSE = timedelta(days=1)
EVENTS = ("shown", "subscribed", "blocked", "later")
ANSWERS = {"subscribed": "subscribed_at", "blocked": "blocked_at", "later": "later_at"}
SHOWN_KEYS = ("title", "body", "image", "subscribe_text", "later_text")


class UnknownPrompt(Exception):
    """No prompt with that key was given to this browser."""


class NotSo(Exception):
    """A report the device's push status contradicts (subscribed while not Allowed)."""


def running_requests(now, site=None):
    campaigns = Campaign.objects.filter(
        status=Campaign.Status.RUNNING, channel=Campaign.Channel.PERMISSION_REQUEST
    ).filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now), Q(ends_at__isnull=True) | Q(ends_at__gt=now))
    if site is not None and _has_sites():
        # A campaign tied to sites (Who, shared with Web Exit Intent) shows on those only.
        campaigns = campaigns.filter(Q(sites__isnull=True) | Q(sites=site)).distinct()
    return campaigns.select_related("segment").order_by("pk")


def _has_sites():
    return any(field.name == "sites" for field in Campaign._meta.get_fields())


@transaction.atomic
def give_prompt(client_id, status, *, site=None, browser="", user_agent="", now=None):
    """The banner for this browser, or None. ``status`` is what the browser says of push
    permission (recorded first). Returns {campaign, prompt, template, title, body, image,
    subscribe_text, later_text, categories: [{name, label}]}."""
    now = now or timezone.now()
    device = report_push_status(client_id, status, browser=browser, user_agent=user_agent)
    if device.push_status != Device.PushStatus.ASK:
        return None
    prompts = PermissionPrompt.objects.filter(device=device)
    if prompts.filter(later_until__gt=now).exists():
        return None
    running = list(running_requests(now, site))
    latest = prompts.filter(later_at__isnull=True, subscribed_at__isnull=True, blocked_at__isnull=True)
    latest = latest.order_by("-given_at").first()
    if latest is not None:
        if latest.shown_at is None and latest.campaign_id in {c.pk for c in running}:
            campaign = next(c for c in running if c.pk == latest.campaign_id)
            return _content(campaign, device.profile, latest.key)
        if latest.shown_at is not None and now - latest.shown_at < DISMISSED_PAUSE:
            return None
    for campaign in running:
        if not in_segment(campaign, device.profile, now) or in_control_group(campaign, device.profile_id):
            continue
        key = secrets.token_urlsafe(16)
        prompt = _content(campaign, device.profile, key)
        if prompt is not None:
            PermissionPrompt.objects.create(campaign=campaign, device=device, key=key, given_at=now)
            return prompt
    return None


def _content(campaign, profile, key):
    variant = campaign.variants.order_by("position").first()
    if variant is None:
        return None
    content = variant.content or {}
    try:
        rendered = render(content, {"profile": profile_context(profile), "event": {}, "linked": {}})
    except ContentError as error:
        log.warning("campaign %s: permission prompt not given, %s", campaign.pk, error)
        return None
    prompt = {"campaign": campaign.pk, "prompt": key, "template": content.get("template") or SIMPLE}
    for name in SHOWN_KEYS:
        prompt[name] = str(rendered.get(name) or "")
    if not prompt["image"].startswith("https://"):
        prompt["image"] = ""
    prompt["categories"] = (
        [{"name": str(c.get("name")), "label": str(c.get("label") or c.get("name"))} for c in categories(content)]
        if prompt["template"] == WITH_CATEGORIES
        else []
    )
    return prompt


def categories(content):
    return [c for c in content.get("categories") or [] if isinstance(c, dict) and c.get("name")]


def later_days(content):
    days = (content or {}).get("later_days")
    return days if isinstance(days, int) and 1 <= days <= MAX_LATER_DAYS else DEFAULT_LATER_DAYS


@transaction.atomic
def record(client_id, key, event, *, now=None):
    """Record ``event`` of the prompt ``key`` given to this browser: True the first time,
    False for a repeat (or a second answer: a prompt has one). An answer implies shown.
    Raises UnknownPrompt (not this browser's) or NotSo (the push status disagrees)."""
    now = now or timezone.now()
    prompt = (
        PermissionPrompt.objects.select_for_update()
        .filter(key=key, device__client_id=client_id)
        .select_related("device")
        .first()
    )
    if prompt is None:
        raise UnknownPrompt(key)
    fields = []
    if prompt.shown_at is None:
        prompt.shown_at, fields = now, ["shown_at"]
    if event in ANSWERS and not prompt.answered:
        wanted = {"subscribed": Device.PushStatus.ALLOWED, "blocked": Device.PushStatus.BLOCKED}.get(event)
        if wanted is not None and prompt.device.push_status != wanted:
            raise NotSo(f"the browser's push status is {prompt.device.push_status}, not {wanted}")
        setattr(prompt, ANSWERS[event], now)
        fields.append(ANSWERS[event])
        if event == "later":
            variant = prompt.campaign.variants.order_by("position").first()
            prompt.later_until = now + timedelta(days=later_days(variant.content if variant else {}))
            fields.append("later_until")
    if fields:
        prompt.save(update_fields=fields)
    return ANSWERS.get(event, "shown_at") in fields
