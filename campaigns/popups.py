"""Web Exit Intent pop-ups: which running campaign's pop-up a page of a customer's site
gets, given to the web SDK (``POST /sdk/v1/popups``, campaigns/views/popups.py).

The SDK posts the page's address, its referrer and how many pages this visit has seen;
the campaign's ``exit_trigger`` (campaigns/forms/who.py) is evaluated against them here:

  single_action   the visitor's profile did ``event`` (with its ``filters``) in the last
                  SESSION minutes
  page_visit      the page's address contains / equals ``url``
  page_referral   the referrer contains ``referrer``
  page_count      at least ``count`` pages in this visit

A person gets at most one pop-up per campaign per day (UTC): giving it records a
``PopupShow``, so a pop-up is counted when it reaches the browser, which shows it on exit
intent. One pop-up per page: the first matching campaign (oldest first), so the others
are not used up for a page that shows only one. People in the campaign's control group
get none. Text is rendered with Liquid as plain text: the SDK puts it in the page with
``textContent``, never as HTML.
"""

import logging
from datetime import timedelta
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from campaigns.allocation import in_control_group
from campaigns.models import Campaign, PopupShow
from delivery.content import ContentError, profile_context, render
from segments.actions.devices import browser_device
from segments.rules import tree
from segments.rules.matcher import json_comparison

log = logging.getLogger(__name__)

SESSION = timedelta(minutes=30)
CLICK_ACTIONS = ("none", "link", "js")
SHOWN_KEYS = ("title", "body", "button_text", "image")


def running_popups(now):
    return (
        Campaign.objects.filter(status=Campaign.Status.RUNNING, channel=Campaign.Channel.EXIT_INTENT)
        .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now), Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .order_by("pk")
    )


@transaction.atomic
def give_popups(client_id, page, *, browser="", user_agent="", now=None):
    """The pop-ups for this browser on this ``page`` ({url, referrer, page_count}): a
    list of at most one, recorded as given. Each is {campaign, title, body, button_text,
    image, click_action, click_url, js_function}."""
    now = now or timezone.now()
    device = browser_device(client_id, browser=browser, user_agent=user_agent)
    profile = device.profile
    shown_today = set(PopupShow.objects.filter(profile=profile, day=now.date()).values_list("campaign_id", flat=True))
    for campaign in running_popups(now):
        if campaign.pk in shown_today or not targets(campaign.exit_trigger, profile, page, now):
            continue
        if in_control_group(campaign, profile.pk):
            continue
        popup = _content(campaign, profile)
        if popup is not None and _record(campaign, profile, popup.pop("variant"), now):
            return [popup]
    return []


def targets(trigger, profile, page, now):
    """Whether the campaign's ``exit_trigger`` matches this page and visitor."""
    trigger = trigger if isinstance(trigger, dict) else {}
    kind = trigger.get("type")
    if kind == "page_visit":
        wanted = trigger.get("url") or ""
        if not wanted:
            return False
        if trigger.get("match") == "equals":
            return _without_fragment(page["url"]) == _without_fragment(wanted)
        return wanted in page["url"]
    if kind == "page_referral":
        wanted = trigger.get("referrer") or ""
        return bool(wanted) and wanted in page["referrer"]
    if kind == "page_count":
        count = trigger.get("count")
        return isinstance(count, int) and page["page_count"] >= count
    if kind == "single_action":
        return _did_event(trigger, profile, now)
    return False


def _without_fragment(url):
    return url.split("#", 1)[0]


def _did_event(trigger, profile, now):
    event = trigger.get("event")
    if not event:
        return False
    try:
        filters = [tree.comparison(item, item.get("name")) for item in trigger.get("filters") or []]
    except (ValueError, AttributeError):
        log.warning("exit intent trigger filters do not parse: %r", trigger)
        return False
    recent = profile.events.filter(name=event, occurred_at__gte=now - SESSION, occurred_at__lte=now)
    return any(all(json_comparison(e.properties, f) for f in filters) for e in recent.only("properties"))


def _content(campaign, profile):
    variant = campaign.variants.order_by("position").first()
    if variant is None:
        return None
    try:
        content = render(variant.content or {}, {"profile": profile_context(profile), "event": {}, "linked": {}})
    except ContentError as error:
        log.warning("campaign %s: pop-up not given, %s", campaign.pk, error)
        return None
    popup = {"campaign": campaign.pk, "variant": variant.name}
    for key in SHOWN_KEYS:
        popup[key] = str(content.get(key) or "")
    if popup["image"] and not _is_web_address(popup["image"]):
        popup["image"] = ""
    action = content.get("click_action") if content.get("click_action") in CLICK_ACTIONS else "none"
    click_url = str(content.get("click_url") or "")
    if action == "link" and not _is_web_address(click_url):
        action, click_url = "none", ""
    popup.update(
        click_action=action,
        click_url=click_url if action == "link" else "",
        js_function=str(content.get("js_function") or "") if action == "js" else "",
    )
    return popup


def _is_web_address(text):
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _record(campaign, profile, variant, now):
    """Whether this is the day's first pop-up of the campaign for the person (two pages
    asking at once: the unique constraint lets one through)."""
    try:
        with transaction.atomic():
            PopupShow.objects.create(campaign=campaign, profile=profile, day=now.date(), variant=variant, shown_at=now)
    except IntegrityError:
        return False
    return True
