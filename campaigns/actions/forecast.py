"""The forecast of a scheduled run (issue 17): what will happen to its audience before it
runs, line by line, in the words of ``campaigns.counts.TERMS``.

qualified → reachable (devices per platform; Safari left out where the content says so) →
held out → capped → targeted messages → stopped by the global frequency caps → discarded,
delayed or past the cut-off by DND in each person's time zone → expected sends; beside them
the known-dead tokens left out before the run, when the last message goes out at the
throttle, and the other campaigns that reach the same people the same day.

Each line asks the code that decides it when the run happens, never a copy of its rule:
the run's audience (``campaigns.actions.runs.Audience``: the segment, the channel's reachable
devices, Safari), the quotas (``campaigns.allocation.Plan``), the run's delivery rules
(``campaigns.actions.dispatcher.rules_for``, read by ``delivery.actions.limits.Rules``: each
zone's release time, DND and the cut-off, as the send pipeline reads them; best time's
hours from ``delivery.actions.besttime.spread``, the run's own aggregate), the caps
(``delivery.actions.limits.at_cap``, the query ``capped_profiles`` narrows for a batch), the
throttle's windows (``delivery.throttle``).

The counting is done by PostgreSQL in a few GROUP BY queries whatever the audience's size
(bench/forecast.py: a million profiles); Python only walks their groups — time zones and
platforms, property values, 15-minute windows. Nothing is sampled. What is estimated: the
control group, target cap and A/B test are random draws, so the lines after them are the
audience's counts scaled by the share of people the draws keep (each person is assumed to
have the audience's average devices, time zone and recent sends); DND is read at the moment
each throttle window opens, for the first two days of windows.
"""

import contextlib
import hashlib
import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce

from campaigns import schedule, targeting
from campaigns.actions.dispatcher import fires_at, rules_for
from campaigns.actions.runs import Audience
from campaigns.allocation import Plan
from campaigns.models import Campaign, CampaignRun
from campaigns.models.forecasts import RunForecast
from delivery.actions import besttime, limits
from delivery.actions.sending import safari_left_out
from delivery.models import DeliverySettings, Message
from delivery.throttle import INTERVAL, interval_bounds
from segments.models import Device
from segments.rules import tree as rule_tree
from segments.rules.compiler import profiles, reachable_devices

SCHEDULED_KINDS = (Campaign.Kind.ONE_TIME, Campaign.Kind.MULTIPLE_DATES, Campaign.Kind.RECURRING)
MAX_WINDOWS = 2 * 96  # throttle windows whose DND is read one by one (two days of 15 minutes)
MAX_COLLISIONS = 8  # other campaigns compared, the soonest first
ESTIMATED = (
    "Nothing is sampled: every count is read from the whole audience. The control group, target "
    "cap and A/B test are random draws, so the lines after them are the audience's counts scaled "
    "by the share of people the draws keep."
)


@dataclass
class Collision:
    """Another scheduled or running campaign reaching some of the same people the same day."""

    campaign_id: int
    name: str
    at: str  # its planned time (ISO)
    overlap: int  # reachable people in both audiences
    stopped: int = 0  # of them, people whose second message that day the caps will stop
    stopped_campaign: str = ""  # whose sends the caps stop: "this", "other", or "" (none)

    @property
    def moment(self):
        return datetime.fromisoformat(self.at)


@dataclass
class Forecast:
    """The lines of a run's forecast: people up to ``capped``, then messages (the words of
    ``campaigns.counts.TERMS``)."""

    made_at: str
    planned_at: str
    qualified: int = 0
    reachable: int = 0
    devices: dict = field(default_factory=dict)  # platform -> reachable devices of the reachable people
    safari_excluded: int = 0  # people whose only reachable devices are Safari, left out
    known_dead: int = 0  # devices of qualified people retired (token gone): no message is written
    held_out: int = 0
    capped: int = 0
    people: int = 0  # targeted people
    targeted: int = 0  # messages
    frequency_cap: int = 0
    dnd_discarded: int = 0
    dnd_delayed: int = 0  # still sent, when DND ends
    cutoff_passed: int = 0
    expected: int = 0
    last_send_at: str | None = None
    throttle: int | None = None
    hours: dict = field(default_factory=dict)  # hour of the day in the campaign's zone -> sends
    collisions: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def to_json(self):
        return asdict(self)

    @classmethod
    def from_json(cls, data):
        if not data or "planned_at" not in data:
            return None
        found = cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})
        found.collisions = [Collision(**one) for one in found.collisions]
        return found

    @property
    def last_send(self):
        return datetime.fromisoformat(self.last_send_at) if self.last_send_at else None

    @property
    def planned(self):
        return datetime.fromisoformat(self.planned_at)

    @property
    def made(self):
        return datetime.fromisoformat(self.made_at)


def applies(campaign):
    """Whether a campaign has runs to forecast: the scheduled kinds, with a segment."""
    return campaign.kind in SCHEDULED_KINDS and campaign.segment_id is not None


def planned_time(campaign, now):
    """The run a forecast is for: the next planned one, else now (a draft sent now)."""
    if campaign.next_run_at:
        return campaign.next_run_at
    found = schedule.upcoming(campaign, after=now, count=1)
    return found[0] if found else now


def forecast(campaign, *, now, planned=None):
    """The ``Forecast`` of ``campaign``'s run planned at ``planned`` (default: the next)."""
    with _roomy():
        return _forecast(campaign, now=now, planned=planned)


@contextlib.contextmanager
def _roomy():
    """PostgreSQL settings for the forecast's few large aggregates, for its transaction only:
    enough memory to sort and hash a million rows without spilling to disk (the default 4 MB
    wrote about 80 MB of temporary files per forecast on the bench), and no JIT compilation
    (half a second per query there, for queries that run once)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("SET LOCAL jit = off")
        yield


def _forecast(campaign, *, now, planned):
    planned = planned or planned_time(campaign, now)
    start = max(fires_at(campaign, planned), now)  # the run evaluates its audience when it starts
    found = Forecast(made_at=now.isoformat(), planned_at=planned.isoformat())
    if not applies(campaign):
        return found
    settings = DeliverySettings.load()
    try:
        audience = Audience(campaign, start)
        qualified = profiles(rule_tree.parse(campaign.segment.rules), now=start)
    except rule_tree.RuleError as error:
        found.notes.append(f"The segment's rules cannot be read ({error}): the run will fail, sending nothing.")
        return found
    found.qualified = qualified.count()
    zones = _by_zone(found, campaign, audience, qualified, settings, start, planned, same_day(campaign, planned, start))
    _left_out(found, campaign, audience, qualified)
    if campaign.safety_limit is not None and found.reachable > campaign.safety_limit:
        found.notes.append(
            f"The safety check will stop the run: {found.reachable:,} people are reachable, more than "
            f"its limit of {campaign.safety_limit:,}. Nothing will be sent."
        )
    elif found.reachable:
        _quotas(found, campaign, audience)
        _deliver(found, campaign, planned, start, zones, settings)
    found.notes.append(ESTIMATED)
    return found


def _by_zone(found, campaign, audience, qualified, settings, start, planned, others):
    """{profile time zone: [devices, devices of people at a frequency cap]} of the run's
    audience, its reachable people and devices per platform, and the people it shares with
    each of ``others`` (``same_day``) and whose message the caps will stop, in one GROUP BY
    over the segment's people's reachable devices (the run's own ``Audience.devices``). The
    sub-queries (people at a cap: ``limits.at_cap``; each other campaign's audience) are run
    once by PostgreSQL and hashed."""
    devices = audience.devices.filter(Exists(qualified.filter(pk=OuterRef("profile_id"))))
    counts = {
        "people": Count("profile_id", distinct=True),
        **{platform: Count("pk", filter=Q(platform=platform)) for platform in Device.Platform.values},
    }
    if not campaign.skip_global_limits:
        counts["at_cap"] = Count("pk", filter=Q(profile_id__in=limits.at_cap(settings, now=start)))
    for i, (other, at, theirs) in enumerate(others):
        shared = Q(profile_id__in=_their_people(theirs, audience, start))
        counts[f"overlap{i}"] = Count("profile_id", distinct=True, filter=shared)
        if _stops(campaign, planned, other, at, settings) and (short := _one_short(settings, start)) is not None:
            counts[f"stopped{i}"] = Count("profile_id", distinct=True, filter=shared & Q(profile_id__in=short))
    totals = Counter()
    zones = {}
    for row in devices.values("profile__timezone").annotate(**counts).order_by():
        found.reachable += row["people"]
        for platform in Device.Platform.values:
            if row[platform]:
                found.devices[platform] = found.devices.get(platform, 0) + row[platform]
        zones[row["profile__timezone"]] = [sum(row[p] for p in Device.Platform.values), row.get("at_cap", 0)]
        totals.update({name: row[name] for name in counts if name.startswith(("overlap", "stopped"))})
    for i, (other, at, _) in enumerate(others):
        if overlap := totals[f"overlap{i}"]:
            whose = _stops(campaign, planned, other, at, settings)
            stopped = totals[f"stopped{i}"] if f"stopped{i}" in counts else overlap if whose else 0
            found.collisions.append(
                Collision(other.pk, other.name, at.isoformat(), overlap, stopped, whose if stopped else "")
            )
    return zones


def _their_people(theirs, ours, start):
    """Another campaign's audience as a sub-query on our audience's device rows. When both
    reach the same devices (one channel, one Safari rule), only its segment need be asked,
    as every row is already a reachable device of the person: PostgreSQL then reads the
    profiles once more, not the devices too (about a fifth of the forecast's CPU on
    bench/forecast.py); otherwise its whole audience."""
    if str(theirs.devices.query) == str(ours.devices.query):
        return profiles(rule_tree.parse(theirs.campaign.segment.rules), now=start).values("pk")
    return theirs.profiles.values("pk")


def _left_out(found, campaign, audience, qualified):
    """Known-dead tokens: the channel's devices of qualified people retired when their push
    service said the subscription or token is gone (``segments.actions.ingest.retire_devices``);
    the run's audience never includes them. And when every variant is for "All browsers but
    Safari" (``delivery.actions.sending.safari_left_out``, which the run's audience asks too),
    the people left out for having no reachable device but Safari (among the campaign's
    target devices, ``campaigns.targeting.platforms``)."""
    of_qualified = Exists(qualified.filter(pk=OuterRef("profile_id")))
    platforms = targeting.platforms(campaign)
    found.known_dead = Device.objects.filter(of_qualified, platform__in=platforms, retired_at__isnull=False).count()
    if Device.Platform.WEB in platforms and safari_left_out(
        {variant.pk: variant.content for variant in campaign.variants.all()}
    ):
        with_safari = reachable_devices().filter(platform__in=platforms, profile=OuterRef("pk"))
        found.safari_excluded = qualified.filter(Exists(with_safari)).count() - found.reachable


def _quotas(found, campaign, audience):
    """Held out and capped people, from the quotas the run draws (``Plan.make``); by property
    without a fallback, people whose value has no variant get nothing and count as capped,
    as the run counts them (``campaigns.counts``)."""
    plan = Plan.make(campaign, None, found.reachable)
    found.held_out, people = plan.control, plan.targeted
    if plan.mode == "property" and plan.by_property.fallback is None:
        value = KeyTextTransform(audience.property, "properties")
        if audience.column:
            value = Coalesce(value, Cast(audience.column, TextField()))
        values = audience.profiles.annotate(value=value).values_list("value").annotate(n=Count("pk")).order_by()
        nobody = sum(n for value, n in values if plan.by_property.key(value) is None)
        people = round(people * (1 - nobody / found.reachable))
    found.people, found.capped = people, found.reachable - found.held_out - people


def _deliver(found, campaign, planned, start, zones, settings):
    """The messages of the targeted people and what the run's rules do to them, zone by zone
    and throttle window by window (``_fate``); then the frequency caps on what was not
    dropped, as the pipeline checks the caps after its When rules."""
    rules = limits.Rules.parse(rules_for(campaign, planned))
    share = found.people / found.reachable
    found.targeted = round(sum(devices for devices, _ in zones.values()) * share)
    capped = round(sum(at_cap for _, at_cap in zones.values()) * share)
    found.throttle = settings.throttle_per_15_min or None
    best = _best_times(campaign, rules, start)
    if rules.user_timezone_at or best is not None:  # each zone goes at its own time: read there, not per window
        windows = [(start, 1.0)]
    else:
        windows = throttle_windows(start, found.targeted - capped, found.throttle)
    totals, sends = Counter(), []  # sends: (moment, messages)
    for name, (devices, at_cap) in zones.items():
        tz = rules.zone_for(name)
        for moment, part in best.get(tz.key, windows) if best is not None else windows:
            code, at, delayed = _fate(rules, moment, tz, start)
            messages, stopped = devices * share * part, at_cap * share * part
            if code:
                totals[code] += messages
                continue
            totals[limits.FREQUENCY_CAP] += stopped
            totals["dnd_delayed"] += (messages - stopped) * delayed
            sends.append((at, messages - stopped))
    found.cutoff_passed = round(totals[limits.CUTOFF_PASSED])
    found.dnd_discarded = round(totals[limits.DND_DISCARDED])
    found.dnd_delayed = round(totals["dnd_delayed"])
    found.frequency_cap = round(totals[limits.FREQUENCY_CAP])
    found.expected = max(0, found.targeted - found.cutoff_passed - found.dnd_discarded - found.frequency_cap)
    going = [moment for moment, n in sends if n > 0]
    found.last_send_at = max(going).isoformat() if going else None
    found.hours = spread(sends, rules.timezone)
    if windows[-1][0] - start > timedelta(days=2):
        found.notes.append(
            "The throttle needs more than two days for these messages: DND is read at each window "
            "of the first two days, and at the last window for the rest."
        )


def _best_times(campaign, rules, start):
    """Best time: {zone: [(moment, share of the zone's people)]}, when the people of each zone
    reach their best hour (``besttime.spread``, from the aggregate the run's start holds its
    messages by); None for a campaign without best time."""
    if rules.best_time_fallback is None:
        return None
    found = besttime.spread(
        Audience(campaign, start).profiles,
        campaign_zone=rules.timezone,
        fallback_hour=rules.best_time_fallback,
        start=start,
    )
    return {
        name: [(moment or start, n / sum(k for _, k in sends)) for moment, n in sends]
        for name, sends in found.by_zone.items()
    }


def _fate(rules, moment, tz, start):
    """What the send pipeline does with a message to someone in ``tz`` first decided at
    ``moment``: (the not-sent code, None, delayed) when it drops it, ("", when it goes,
    delayed) otherwise. The When rules' own decision (``limits.Rules.decide``, which
    ``Batch.may_go_now`` asks), asked again at the time a hold ends, as the pipeline
    decides a held row again; a hold that ends at or after the cut-off is then dropped
    (as ``Batch.hold`` drops it)."""
    delayed = False
    for _ in range(3):  # at most a release, then DND
        code, until, reason = rules.decide(moment, tz, start)
        if code:
            return code, None, delayed
        if until is None:
            break
        moment, delayed = until, delayed or reason == Message.HoldReason.DND
    return "", moment, delayed


def throttle_windows(start, messages, limit):
    """[(moment, share of the messages)]: when each window of the global throttle that the
    run's ``messages`` need opens (``delivery.throttle``: ``limit`` per 15-minute interval,
    aligned to :00, :15, :30 and :45; the first is the interval the run starts in). Past
    ``MAX_WINDOWS`` the rest are counted at the last window."""
    if not limit or messages <= limit:
        return [(start, 1.0)]
    count = math.ceil(messages / limit)
    first = interval_bounds(start)[1]
    windows = [(start, limit / messages)]
    windows += [(first + INTERVAL * (i - 1), min(limit, messages - i * limit) / messages) for i in range(1, count)]
    if len(windows) > MAX_WINDOWS:
        rest = sum(part for _, part in windows[MAX_WINDOWS - 1 :])
        windows = [*windows[: MAX_WINDOWS - 1], (windows[-1][0], rest)]
    return windows


def send_hours(groups, delivery_time, tz):
    """The spread of send hours, {hour of the day in ``tz``: messages}, of ``groups``
    [(key, messages)] sent when ``delivery_time(key)`` says (an aware datetime, or None for
    not sent). The hook for rules that choose each person's send time: the forecast passes
    its time zones and when each zone's messages go; best-time delivery can pass people by
    their engaged hour and its own delivery time."""
    return spread(((delivery_time(key), n) for key, n in groups), tz)


def spread(sends, tz):
    """{hour of the day in ``tz``: messages} of ``sends`` [(aware moment or None, messages)]."""
    hours = Counter()
    for moment, n in sends:
        if moment is not None and n > 0:
            hours[moment.astimezone(tz).hour] += n
    return {hour: round(n) for hour, n in sorted(hours.items()) if round(n)}


# --- other campaigns the same day -------------------------------------------------------


def same_day(campaign, planned, start):
    """[(campaign, its planned time, its run's Audience)] of the other scheduled or running
    campaigns with a run the same day as ``planned`` (in ``campaign``'s zone), soonest first."""
    tz = schedule.zone(campaign.timezone)
    day = planned.astimezone(tz).date()
    begin = schedule.to_utc(datetime.combine(day, time()), tz)
    end = schedule.to_utc(datetime.combine(day + timedelta(days=1), time()), tz)
    active = (CampaignRun.Status.PLANNED, CampaignRun.Status.RUNNING, CampaignRun.Status.PAUSED)
    that_day = Q(runs__planned_at__gte=begin, runs__planned_at__lt=end, runs__status__in=active)
    others = (
        Campaign.objects.filter(
            Q(next_run_at__gte=begin, next_run_at__lt=end) | that_day,
            kind__in=SCHEDULED_KINDS,
            status__in=(Campaign.Status.SCHEDULED, Campaign.Status.RUNNING),
            segment__isnull=False,
        )
        .exclude(pk=campaign.pk)
        .select_related("segment")
        .distinct()
        .order_by("next_run_at", "pk")[:MAX_COLLISIONS]
    )
    found = []
    for other in others:
        try:
            found.append((other, _planned_on(other, begin, end), Audience(other, start)))
        except rule_tree.RuleError:
            continue  # its run will fail, sending nothing
    return found


def _stops(campaign, planned, other, at, settings):
    """Whose sends the caps stop for people both campaigns reach: the later one's ("this" or
    "other"), unless it skips the global limits or no cap is set ("")."""
    later = campaign if planned >= at else other
    if (settings.daily_cap is None and settings.weekly_cap is None) or later.skip_global_limits:
        return ""
    return "this" if later is campaign else "other"


def _one_short(settings, start):
    """People one send short of a cap (``limits.at_cap`` with headroom 1), or None when a cap
    of one makes that everyone."""
    caps = [cap for cap in (settings.daily_cap, settings.weekly_cap) if cap is not None]
    return None if min(caps) <= 1 else limits.at_cap(settings, now=start, headroom=1)


def _planned_on(campaign, begin, end):
    if campaign.next_run_at and begin <= campaign.next_run_at < end:
        return campaign.next_run_at
    runs = CampaignRun.objects.filter(campaign=campaign, planned_at__gte=begin, planned_at__lt=end)
    return runs.order_by("planned_at").values_list("planned_at", flat=True).first()


# --- kept at schedule time, shown beside the run ---------------------------------------


def do_record(campaign, *, now):
    """Keep the forecast of ``campaign``'s next run, made now (when it is scheduled), so its
    page can show it beside what the run did. None when it has no run to forecast."""
    if not applies(campaign) or campaign.next_run_at is None:
        return None
    made = forecast(campaign, now=now)
    record, _ = RunForecast.objects.update_or_create(
        campaign=campaign, planned_at=made.planned, defaults={"made_at": now, "lines": made.to_json()}
    )
    return record


def recorded(campaign, run=None):
    """The forecast kept for ``run`` (else for the campaign's next run), or None."""
    planned = run.planned_at if run is not None else campaign.next_run_at
    if planned is None:
        return None
    record = RunForecast.objects.filter(campaign=campaign, planned_at=planned).first()
    return Forecast.from_json(record.lines) if record else None


# --- the funnel on the pages ------------------------------------------------------------


@dataclass
class Row:
    """One line of the funnel: a ``campaigns.counts.TERMS`` name, the forecast, what the run
    did (None where a run keeps no such count, or before it runs), and the bar's length
    (``width``: percent of the first line of its unit, in steps of 5; classes in
    static/css/forecast.css)."""

    name: str
    forecast: int
    actual: int | None = None
    unit: str = "people"
    removed: bool = False  # taken away from the lines above it
    detail: str = ""
    width: int = 0


def rows(found, counts=None):
    """The funnel's lines for ``found`` (a Forecast), beside ``counts`` (the run's
    ``campaigns.counts.RunCounts``) once it has run."""
    ran = counts is not None
    codes = counts.outcomes.not_sent_codes if ran else {}
    platforms = " · ".join(f"{platform} {n:,}" for platform, n in sorted(found.devices.items()))
    platforms = f"devices: {platforms}" if platforms else ""
    lines = [
        Row("qualified", found.qualified),
        Row("safari_excluded", found.safari_excluded, removed=True) if found.safari_excluded else None,
        Row(
            "reachable",
            found.reachable,
            counts.reachable if ran else None,
            detail=platforms,  # devices per platform: web, android, ios (campaigns.targeting)
        ),
        Row("held_out", found.held_out, counts.held_out if ran else None, removed=True),
        Row("capped", found.capped, counts.capped if ran else None, removed=True),
        Row("targeted", found.targeted, counts.targeted if ran else None, unit="messages"),
        Row("frequency_cap", found.frequency_cap, codes.get("frequency_cap", 0) if ran else None, "messages", True),
        Row("dnd_discarded", found.dnd_discarded, codes.get("dnd_discarded", 0) if ran else None, "messages", True),
        Row("dnd_delayed", found.dnd_delayed, unit="messages", detail="sent when DND ends"),
        Row("cutoff_passed", found.cutoff_passed, codes.get("cutoff_passed", 0) if ran else None, "messages", True),
        Row("known_dead", found.known_dead, unit="devices", removed=True, detail="left out of reachable"),
        Row("expected", found.expected, counts.sent + counts.failed if ran else None, unit="messages"),
    ]
    lines = [line for line in lines if line is not None]
    tops = {"people": found.qualified, "messages": found.targeted, "devices": found.targeted}
    for line in lines:
        top = tops[line.unit]
        line.width = min(100, 5 * math.ceil(20 * line.forecast / top)) if top and line.forecast > 0 else 0
    return lines


def panel(campaign, runs, *, now):
    """What a campaign's page shows of its forecast: {"forecast", "rows", "run"} with the
    latest run that has a kept forecast beside what it did, else (until a run starts) the
    next run's kept forecast or, for a draft, one made now; None when it has none."""
    if not applies(campaign):
        return None
    by_time = {run.planned_at: run for run in runs if getattr(run, "counts", None) is not None}
    kept = (
        RunForecast.objects.filter(campaign=campaign, planned_at__in=list(by_time)).order_by("-planned_at").first()
        if by_time
        else None
    )
    if kept is not None:  # one query, however many runs
        run = by_time[kept.planned_at]
        found = Forecast.from_json(kept.lines)
        return {"forecast": found, "rows": rows(found, run.counts), "run": run}
    if runs and not campaign.next_run_at:
        return None  # ran without a kept forecast, and nothing is ahead
    found = recorded(campaign) or cached(campaign, now=now)
    return {"forecast": found, "rows": rows(found), "run": None}


CACHE_SECONDS = 3600


def cached(campaign, *, now):
    """``forecast(campaign)`` as the pages show it before a run is kept: made once per hour
    and version of what it reads (the campaign, its variants, its segment, the delivery
    settings), then read from the Django cache — a million profiles take seconds, and
    Overview is viewed often. Its ``made_at`` says when it was computed (the page shows it);
    other campaigns and the audience may have changed since, within the hour."""
    settings = DeliverySettings.load()
    version = [
        campaign.pk,
        campaign.updated_at.isoformat() if campaign.updated_at else "",
        [campaign.segment.updated_at.isoformat(), campaign.segment.rules] if campaign.segment_id else "",
        settings.updated_at.isoformat() if settings.updated_at else "",
        sorted((v.pk, v.content) for v in campaign.variants.all()),
        now.strftime("%Y-%m-%dT%H"),
    ]
    digest = hashlib.sha256(json.dumps(version, sort_keys=True, default=str).encode()).hexdigest()[:32]
    key = f"forecast:{campaign.pk}:{digest}"
    found = Forecast.from_json(cache.get(key))
    if found is None:
        found = forecast(campaign, now=now)
        cache.set(key, found.to_json(), CACHE_SECONDS)
    return found
