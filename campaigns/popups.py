"""Web Exit Intent pop-ups: which running campaign's pop-up a page of a customer's site
gets, given to the web SDK (``POST /sdk/v1/popups``, campaigns/views/popups.py).

A campaign shows only on the pages of its websites (``Campaign.sites``: the site whose
key the page's SDK sends). The SDK posts the page's address, its referrer and how many
pages this visit has seen; the campaign's ``exit_trigger`` (campaigns/forms/who.py) is
evaluated against them here, then the campaign's segment (``segments.rules.matcher``, as
for live campaigns):

  single_action   the visitor's profile did ``event`` (with its ``filters``) in the last
                  SESSION minutes (its properties are ``{{ event.… }}`` in the text)
  page_visit      the page's address contains / equals ``url``
  page_referral   the referrer contains ``referrer``
  page_count      at least ``count`` pages in this visit

Giving a pop-up is a live send of one person, decided as ``campaigns/live/sending.py``
decides one, by the same functions (``campaigns.allocation``) under the same lock (the
campaign's row, so visitors asking at once cannot overshoot): the total cap
(``target_cap``: reached, the campaign completes) and the daily limit (people per day in
the campaign's time zone), both counted from the runs' ``targeted`` (``PopupLimits``: one
per ``LiveTrigger`` sent); the control group (held out: a ``ControlMember`` of the day's
run, counted on the campaign page and compared in the stats' lift); the variant (one per
user property value with a fallback, or the one message). The When step's rules apply as
they would to a push at that moment (``delivery.actions.limits``): no pop-up inside DND
hours or after the day's cut-off time, nor to someone at a global frequency cap (unless
the campaign opts out).

What is given is recorded as a delivery ``Message``, sent when given, of the campaign's run
of the day (``_day_run``: one ``CampaignRun`` and one ``Dispatch`` per day in the campaign's
time zone, however many visitors, so the run history, the stats' run picker, the roll-up and
retention grow by a run a day, not a run a visitor); the SDK then reports it shown
(``viewed_at``), clicked and closed (``POST /sdk/v1/popups/report``, stats/popups.py), so
the campaign page, the stats page, conversions and the CSVs count pop-ups with the push
counts' functions. A person gets a
campaign's pop-up at most once a day: one given but not shown yet is given again, with the
same message id, when the same browser asks again that day (the next page, or the same
page after ``track()`` or ``identify()``), taking no second place under the caps, also once
the campaign has completed at its total cap (that place was theirs). One
pop-up per page: the first campaign that applies (oldest first). Text is rendered with
Liquid as plain text: the SDK puts it in the page with ``textContent``, never as HTML.
"""

import logging
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from campaigns import schedule
from campaigns.actions import lifecycle
from campaigns.allocation import LiveLimits, LivePicker, day_start, in_control_group, rules_for
from campaigns.live.sending import batch_time
from campaigns.models import Campaign, CampaignRun, ControlMember, LiveTrigger
from campaigns.models.versions import current_version
from delivery.actions.dispatches import do_create_dispatch
from delivery.actions.limits import Rules, cap_slots
from delivery.content import ContentError, profile_context, render
from delivery.models import DeliverySettings, Dispatch, Message
from segments.actions.devices import browser_device
from segments.models import Device, Event
from segments.rules import tree
from segments.rules.matcher import event_names, json_comparison, matches

log = logging.getLogger(__name__)

SESSION = timedelta(minutes=30)
CLICK_ACTIONS = ("none", "link", "js")
SHOWN_KEYS = ("title", "body", "button_text", "image")
DECIDED = (LiveTrigger.Status.SENT, LiveTrigger.Status.HELD_OUT)


def site_popups(site, now):
    """The site's Web Exit Intent campaigns that are running at ``now`` or completed (a
    completed one only gives again what it gave: its total cap was reached), oldest first."""
    return (
        Campaign.objects.filter(
            status__in=(Campaign.Status.RUNNING, Campaign.Status.COMPLETED),
            channel=Campaign.Channel.EXIT_INTENT,
            sites=site,
        )
        .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now), Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .select_related("segment")
        .order_by("pk")
    )


def give_popups(site, client_id, page, *, browser="", user_agent="", now=None):
    """The pop-ups for this browser on this ``page`` ({url, referrer, page_count}) of
    ``site``: a list of at most one, each {campaign, message, title, body, button_text,
    image, click_action, click_url, js_function}."""
    now = now or timezone.now()
    with transaction.atomic():
        device = browser_device(client_id, browser=browser, user_agent=user_agent)
    profile = device.profile
    campaigns = list(site_popups(site, now))
    if not campaigns:
        return []
    decided = _decided_today(campaigns, profile, now)
    pending = _pending(campaigns, profile, device, now)
    for campaign in campaigns:
        if campaign.pk in pending:
            # Also when the cap it took completed the campaign: this visitor's place is theirs.
            again = _again(campaign, pending[campaign.pk], profile)
            if again is not None:
                return [again]
            continue
        if campaign.pk in decided or campaign.status != Campaign.Status.RUNNING:
            continue
        event = matched(campaign.exit_trigger, profile, page, now)
        if event is None or not in_segment(campaign, profile, now):
            continue
        popup = _give(campaign.pk, profile, device, event, now)
        if popup is not None:
            return [popup]
    return []


def matched(trigger, profile, page, now):
    """Whether the campaign's ``exit_trigger`` matches this page and visitor: None when not,
    else the Liquid ``event`` of the pop-up (the trigger event's properties for a single
    action, else empty)."""
    trigger = trigger if isinstance(trigger, dict) else {}
    kind = trigger.get("type")
    found = False
    if kind == "page_visit":
        wanted = trigger.get("url") or ""
        if trigger.get("match") == "equals":
            found = bool(wanted) and _without_fragment(page["url"]) == _without_fragment(wanted)
        else:
            found = bool(wanted) and wanted in page["url"]
    elif kind == "page_referral":
        wanted = trigger.get("referrer") or ""
        found = bool(wanted) and wanted in page["referrer"]
    elif kind == "page_count":
        count = trigger.get("count")
        found = isinstance(count, int) and page["page_count"] >= count
    elif kind == "single_action":
        return _did_event(trigger, profile, now)
    return {} if found else None


def _without_fragment(url):
    return url.split("#", 1)[0]


def _did_event(trigger, profile, now):
    """The properties of the visitor's latest matching event of the session, or None."""
    event = trigger.get("event")
    if not event:
        return None
    try:
        filters = [tree.comparison(item, item.get("name")) for item in trigger.get("filters") or []]
    except (ValueError, AttributeError):
        log.warning("exit intent trigger filters do not parse: %r", trigger)
        return None
    recent = profile.events.filter(name=event, occurred_at__gte=now - SESSION, occurred_at__lte=now)
    for found in recent.order_by("-occurred_at", "-pk").only("properties"):
        if all(json_comparison(found.properties, f) for f in filters):
            return dict(found.properties or {})
    return None


def in_segment(campaign, profile, now):
    """Whether the visitor is in the campaign's segment (no segment: everyone the targeting
    matches), checked in Python as a live campaign checks its trigger's person."""
    if campaign.segment is None:
        return True
    try:
        group = tree.parse(campaign.segment.rules)
    except tree.RuleError:
        log.warning("campaign %s: its segment's rules do not parse; nobody qualifies", campaign.pk)
        return False
    names = event_names(group)
    events = list(Event.objects.filter(profile=profile, name__in=names)) if names else []
    devices = _Lazy(lambda: Device.objects.filter(profile=profile))  # read only by a device condition
    return matches(group, profile, devices=devices, events=events, now=now)


class _Lazy:
    """A list read from the database the first time it is iterated."""

    def __init__(self, load):
        self.load, self.items = load, None

    def __iter__(self):
        if self.items is None:
            self.items = list(self.load())
        return iter(self.items)


def _decided_today(campaigns, profile, now):
    """Ids of the campaigns that gave this person their pop-up, or held them out, today."""
    starts = {campaign.pk: day_start(campaign, now) for campaign in campaigns}
    rows = LiveTrigger.objects.filter(
        campaign__in=campaigns, profile=profile, status__in=DECIDED, decided_at__gte=min(starts.values())
    ).values_list("campaign_id", "decided_at")
    return {campaign_id for campaign_id, at in rows if at >= starts[campaign_id]}


def _pending(campaigns, profile, device, now):
    """{campaign id: message} of pop-ups given to this browser today and not shown yet."""
    starts = {campaign.pk: day_start(campaign, now) for campaign in campaigns}
    rows = Message.objects.filter(
        dispatch__run__campaign__in=campaigns,
        profile=profile,
        device=device,
        status=Message.Status.SENT,
        sent_at__gte=min(starts.values()),
        viewed_at__isnull=True,
        clicked_at__isnull=True,
        closed_at__isnull=True,
    ).values("pk", "variant", "context", "sent_at", "dispatch__contents", "dispatch__run__campaign_id")
    return {
        row["dispatch__run__campaign_id"]: row
        for row in rows.order_by("pk")
        if row["sent_at"] >= starts[row["dispatch__run__campaign_id"]]
    }


def _again(campaign, message, profile):
    content = (message["dispatch__contents"] or {}).get(message["variant"])
    popup = _content(campaign.pk, content, profile, message["context"] or {})
    if popup is not None:
        popup["message"] = str(message["pk"])
    return popup


def popup_rules(campaign, now):
    """The When step's rules of a pop-up given at ``now`` (``delivery.actions.limits.Rules``
    keys): DND hours and the global limits' opt-out, as every live send of the campaign
    (``allocation.rules_for``), and the cut-off: a pop-up shows until the cut-off time of
    the day, in the campaign's time zone, and not after it until the next day."""
    rules = rules_for(campaign)
    if campaign.cutoff_time is not None:
        tz = schedule.zone(campaign.timezone)
        cutoff = schedule.to_utc(datetime.combine(schedule.local(now, tz).date(), campaign.cutoff_time), tz)
        rules["cutoff"] = cutoff.isoformat()
    return rules


class PopupLimits(LiveLimits):
    """``LiveLimits``' total cap and daily limit, counted from the campaign's runs: each
    pop-up given raised its run's ``targeted`` with its ``LiveTrigger`` (``_count_in``), so
    the sum of ``targeted`` is the campaign's sends and that of today's runs today's people
    (each person once a day). One aggregate over a run a day, where counting the triggers
    read every send of the day (and of the campaign's life) under the row lock on every
    pop-up given. The person asking has not been given it today (``_decided_today``, checked
    under the same lock), so ``today`` starts empty."""

    def __init__(self, campaign, now):
        self.campaign = campaign
        self.total, self.today, self.today_count = 0, set(), 0
        if campaign.target_cap or campaign.daily_limit:
            sums = campaign.runs.aggregate(
                total=Sum("targeted"), today=Sum("targeted", filter=Q(planned_at__gte=day_start(campaign, now)))
            )
            self.total, self.today_count = sums["total"] or 0, sums["today"] or 0


def _give(campaign_id, profile, device, event, now):
    """Decide and record one pop-up of the campaign for this person, under the campaign's
    row lock: the popup dict with its message id, or None."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.status != Campaign.Status.RUNNING:
            return None
        rules = popup_rules(campaign, now)
        parsed = Rules.parse(rules)
        code, hold_until, _ = parsed.decide(now, parsed.zone_for(profile.timezone), now)
        if code or hold_until:
            return None  # DND hours or past the cut-off: maybe on a later page
        if _decided_today([campaign], profile, now):
            return None  # another page of theirs was given it a moment ago
        limits = PopupLimits(campaign, now)
        if limits.cap_reached():
            lifecycle.do_complete(campaign, now=now)
            return None
        if not limits.today_allows(profile.pk):
            return None
        if in_control_group(campaign, profile.pk):
            _hold_out(campaign, profile, now)
            return None
        picker = LivePicker(campaign)
        person = {"properties": profile.properties, **{name: getattr(profile, name) for name in picker.fields}}
        key = picker.pick(person)
        if key is None:
            return None  # one message per property value, none for theirs and no fallback
        popup = _content(campaign.pk, picker.variants[key].content, profile, event)
        if popup is None:
            return None
        if parsed.skip_global_limits:  # no settings to read, no slot to hold
            message = _record(campaign, profile, device, key, picker, rules, event, now)
        else:
            with cap_slots([profile.pk], DeliverySettings.load(), dispatch_id=None, now=now) as slots:
                if profile.pk in slots.capped:
                    return None
                message = _record(campaign, profile, device, key, picker, rules, event, now)
        limits.count(profile.pk)
        if campaign.target_cap and limits.cap_reached():
            lifecycle.do_complete(campaign, now=now)
    popup["message"] = str(message.pk)
    return popup


def _record(campaign, profile, device, key, picker, rules, event, now):
    """The pop-up given: one sent message in the dispatch of the campaign's run of the day
    (``_day_run``), and the ``LiveTrigger`` the caps count."""
    run = _day_run(campaign, now, contents=picker.contents())
    if run.dispatch is None:
        run.dispatch = do_create_dispatch(
            channel=Dispatch.Channel.EXIT_INTENT,
            label=f"{campaign.name} · pop-ups of {schedule.local(now, schedule.zone(campaign.timezone)):%Y-%m-%d}"[
                :300
            ],
            contents=picker.contents(),
            rules=rules,
            version=current_version(campaign),
        )
        Dispatch.objects.filter(pk=run.dispatch.pk).update(status=Dispatch.Status.DONE, started_at=now, finished_at=now)
    if picker.picked_winner and not run.winner:
        run.winner, run.winner_picked_at = picker.picked_winner, now
    _count_in(run, now, given=True)
    LiveTrigger.objects.create(
        campaign=campaign, profile=profile, status=LiveTrigger.Status.SENT, variant=key, run=run, decided_at=now
    )
    return Message.objects.create(
        dispatch=run.dispatch,
        profile=profile,
        device=device,
        variant=key,
        context={"event": event},
        version=run.dispatch.version,
        status=Message.Status.SENT,
        sent_at=now,
    )


def _hold_out(campaign, profile, now):
    """The person is in the control group: held out in the run of the day (a
    ``ControlMember``, which the campaign page counts and the stats' lift compares)."""
    run = _day_run(campaign, now)
    _count_in(run, now, given=False)
    ControlMember.objects.create(run=run, profile=profile)
    LiveTrigger.objects.create(
        campaign=campaign, profile=profile, status=LiveTrigger.Status.HELD_OUT, run=run, decided_at=now
    )


def _day_run(campaign, now, *, contents=None):
    """The campaign's run of ``now``'s day in its time zone, created by the day's first pop-up
    given or person held out; the caller holds the campaign's row lock, so two visitors
    cannot create two. One run and one dispatch a day however many pop-ups (a busy site's
    run history would otherwise grow by a run per visitor). A run is COMPLETED from the
    start, its dispatch DONE: both are finished at their latest pop-up. For a pop-up given
    (``contents``: the variants' now), a new run starts instead when the campaign's What
    changed that day (the dispatch holds the contents and version it began with), or when
    the day's dispatch was pruned meanwhile."""
    run = (
        CampaignRun.objects.filter(campaign=campaign, planned_at__gte=day_start(campaign, now))
        .select_related("dispatch")
        .order_by("-planned_at")
        .first()
    )
    if contents is not None and run is not None and run.dispatch_id is not None:
        # Finished at its latest pop-up: the stats roll-up recounts a dispatch that finished
        # after its last pass, and retention prunes it once that is old. The UPDATE waits on
        # a prune that holds the row (delivery.actions.retention.do_keep_tally) and then
        # finds it pruned: its tally is kept, so the pop-up goes to a new run.
        fresh = Dispatch.objects.filter(pk=run.dispatch_id, pruned_at__isnull=True)
        if run.dispatch.contents != contents or not fresh.update(finished_at=now):
            run = None
    if run is None:
        run = CampaignRun.objects.create(
            campaign=campaign,
            planned_at=batch_time(campaign, now),
            status=CampaignRun.Status.COMPLETED,
            started_at=now,
            finished_at=now,
            qualified=0,
            targeted=0,
        )
    return run


def _count_in(run, now, *, given):
    """One more person decided in the day's run (under the campaign's row lock)."""
    run.qualified = (run.qualified or 0) + 1
    run.targeted = (run.targeted or 0) + (1 if given else 0)
    run.finished_at = now
    held = run.qualified - run.targeted
    people = f"{run.targeted} {'person' if run.targeted == 1 else 'people'}"
    run.note = f"Pop-ups of the day: given to {people}, {held} held out (control group)."
    run.save(update_fields=["qualified", "targeted", "finished_at", "note", "dispatch", "winner", "winner_picked_at"])


def _content(campaign_id, content, profile, event):
    if content is None:
        return None
    try:
        content = render(content or {}, {"profile": profile_context(profile), "event": event or {}, "linked": {}})
    except ContentError as error:
        log.warning("campaign %s: pop-up not given, %s", campaign_id, error)
        return None
    popup = {"campaign": campaign_id}
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
