"""What the stats pages and CSV exports show. The people and message counts (reachable, held
out, capped, targeted, sent, failed, not sent on purpose, waiting) are the campaign page's,
from ``campaigns.counts``; impressions (rendered), views, clicks, conversions, revenue and the trend come from the
roll-ups (``stats.actions.rollup``), so a page does not count millions of engagements.

Each function takes a campaign and, optionally, one of its runs (``None``: all runs).
"""

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from campaigns import counts as run_counts
from campaigns.models import Campaign, CampaignRun, ControlMember
from delivery import codes
from delivery import counts as delivery_counts
from delivery.models import Message
from stats.models import ControlConversion, DailyStat, ErrorStat, RollUp

# What the roll-ups add up, by the names pages use. ``DailyStat.delivered`` counts messages
# the push service accepted: what Clarion calls "sent" (campaigns/counts.py).
# ``DailyStat.sent`` also counts refusals, so no page reads it.
ROLLED = {
    "sent": Sum("delivered"),
    "rendered": Sum("rendered"),
    "viewed": Sum("viewed"),
    "clicked": Sum("clicked"),
    "conversions": Sum("conversions"),
    "revenue": Sum("revenue"),
}
PERIODS = ("day", "week", "month")
# Below these, a control-group comparison says it is too early to tell (see ``control``).
MIN_GROUP = 100
MIN_CONVERSIONS = 10
Z_95 = 1.96
# The home page ranks by CTR only campaigns with this many views in the week.
MIN_VIEWS_FOR_TOP = 20


def percent(part, whole):
    return None if not whole else part * 100 / whole


@dataclass
class Numbers:
    """A campaign's (or run's, or variant's) numbers in the words of ``campaigns.counts.TERMS``."""

    reachable: int | None = None
    held_out: int = 0
    capped: int = 0
    targeted: int = 0
    sent: int = 0
    failed: int = 0
    not_sent: int = 0
    waiting: int = 0
    rendered: int = 0
    viewed: int = 0
    clicked: int = 0
    conversions: int = 0
    revenue: Decimal = Decimal(0)
    amplified: int = 0  # sent once more by push amplification (``totals`` only)
    closed: int = 0  # Web Exit Intent pop-ups dismissed (``totals`` only)
    inbox: delivery_counts.Inbox = field(default_factory=delivery_counts.Inbox)  # App Inbox (``totals`` only)
    prompts: run_counts.PromptCounts | None = None  # a permission request's banner (``listed`` only)

    inbox_copies = property(lambda self: self.inbox.copies)
    inbox_views = property(lambda self: self.inbox.views)
    inbox_boosted = property(lambda self: self.inbox.boosted)

    @property
    def inbox_boost(self):
        """The inbox's boost in % (glossary ``inbox_boost``; None before any copy or resend)."""
        return self.inbox.boost_percent(self.amplified)

    @property
    def ctr(self):
        """Clicks / views * 100, as seed 003 defines it (None before any view)."""
        return percent(self.clicked, self.viewed)

    @property
    def conversion_rate(self):
        return percent(self.conversions, self.sent)


def _daily(campaign, run):
    rows = DailyStat.objects.filter(campaign=campaign)
    return rows.filter(run=run) if run else rows


def _sums(rows):
    return {name: value or 0 for name, value in rows.aggregate(**ROLLED).items()}


def totals(campaign, run=None):
    """The people and message counts of the campaign page (exact, from the messages, push
    amplification's resends included) with the engagement of the roll-ups."""
    counts = run_counts.for_runs([run])[run.pk] if run else run_counts.for_campaign(campaign)
    engagement = _sums(_daily(campaign, run))
    del engagement["sent"]  # the messages' own count, never a minute behind
    # Resends by push amplification and App Inbox copies, over the run's (or every run's)
    # dispatch and A/B remainder.
    runs = Q(pk=run.pk) if run else Q(campaign=campaign)
    runs_dispatches = CampaignRun.objects.filter(runs)
    dispatches = Q(dispatch__in=runs_dispatches.values("dispatch")) | Q(
        dispatch__in=runs_dispatches.values("remainder")
    )
    amplified = delivery_counts.amplified(dispatches)
    inbox = delivery_counts.inbox(dispatches)
    closed = delivery_counts.closed(dispatches) if campaign.channel == Campaign.Channel.EXIT_INTENT else 0
    return Numbers(
        **{name: getattr(counts, name) for name in run_counts.RUN_COUNTS},
        **engagement,
        amplified=amplified,
        closed=closed,
        inbox=inbox,
    )


def by_campaign(campaigns):
    """{campaign id: Numbers} of sent, viewed, clicked and conversions from the roll-ups (the Stats list)."""
    rows = DailyStat.objects.filter(campaign__in=campaigns).values("campaign").annotate(**ROLLED).order_by()
    return {row.pop("campaign"): Numbers(**row) for row in rows}


def listed(limit=200):
    """The Stats list: [(campaign, Numbers)] for the campaigns that left the draft stage and
    are not archived, in the campaigns' own order, at most ``limit``; two queries, three with
    a permission request (its ``Numbers.prompts``)."""
    campaigns = list(Campaign.objects.exclude(status=Campaign.Status.DRAFT).filter(archived_at__isnull=True)[:limit])
    numbers = by_campaign(campaigns)
    # A Push permission request sends no message: its row shows its banner's counts (a third query).
    requests = [c for c in campaigns if c.channel == Campaign.Channel.PERMISSION_REQUEST]
    prompts = run_counts.prompts_by_campaign(requests) if requests else {}
    for campaign in requests:
        numbers.setdefault(campaign.pk, Numbers()).prompts = prompts.get(campaign.pk) or run_counts.PromptCounts()
    return [(campaign, numbers.get(campaign.pk, Numbers())) for campaign in campaigns]


def period_start(day, period):
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def _next(start, period):
    if period == "week":
        return start + timedelta(days=7)
    if period == "month":
        return (start + timedelta(days=32)).replace(day=1)
    return start + timedelta(days=1)


@dataclass
class Point:
    start: date
    sent: int = 0
    rendered: int = 0
    viewed: int = 0
    clicked: int = 0


def trend(campaign, run=None, period="day"):
    """Sent, rendered, viewed and clicked per day, week (from Monday) or month, without gaps."""
    rows = (
        _daily(campaign, run)
        .values("day")
        .annotate(sent=ROLLED["sent"], rendered=Sum("rendered"), viewed=Sum("viewed"), clicked=Sum("clicked"))
        .order_by("day")
    )
    buckets = {}
    for row in rows:
        point = buckets.setdefault(period_start(row["day"], period), Point(period_start(row["day"], period)))
        point.sent += row["sent"]
        point.rendered += row["rendered"]
        point.viewed += row["viewed"]
        point.clicked += row["clicked"]
    if not buckets:
        return []
    points, start, last = [], min(buckets), max(buckets)
    while start <= last:
        points.append(buckets.get(start, Point(start)))
        start = _next(start, period)
    return points


@dataclass
class VariantRow:
    key: str
    label: str
    winner: bool
    numbers: Numbers


def variants(campaign, run=None):
    """Each variant's numbers; the winner marked where the run (or, for all runs, any run) picked one."""
    runs = [run] if run else CampaignRun.objects.filter(campaign=campaign).exclude(winner="")
    winners = {r.winner for r in runs if r.winner}
    labels = {}
    for variant in campaign.variants.all():
        label = variant.name
        if variant.property_value or variant.is_fallback:
            label += f" ({variant.property_value or 'every other value'})"
        labels[variant.name] = label
    rows = _daily(campaign, run).values("variant").annotate(**ROLLED).order_by("variant")
    return [
        VariantRow(
            key=row["variant"],
            label=labels.get(row["variant"], row["variant"] or "—"),
            winner=row["variant"] in winners,
            numbers=Numbers(**{n: row[n] or 0 for n in ROLLED}),
        )
        for row in rows
    ]


@dataclass
class ErrorRow:
    code: str
    status: str
    count: int
    meaning: str = ""
    technical: bool = True


def errors(campaign, run=None):
    rows = ErrorStat.objects.filter(campaign=campaign)
    if run:
        rows = rows.filter(run=run)
    rows = rows.values("code", "status").annotate(count=Sum("count")).order_by("-count", "code")
    return [
        ErrorRow(
            code=row["code"],
            status=row["status"],
            count=row["count"],
            meaning=codes.meaning(row["code"]),
            technical=row["code"] not in codes.NON_TECHNICAL,
        )
        for row in rows
        if row["count"]
    ]


@dataclass
class Group:
    profiles: int
    converted: int
    revenue: Decimal = Decimal(0)

    @property
    def rate(self):
        return percent(self.converted, self.profiles)


@dataclass
class Comparison:
    targeted: Group
    control: Group
    lift: float | None = None  # percent: (targeted rate - control rate) / control rate
    confident: bool = False
    note: str = ""
    z: float | None = field(default=None, repr=False)


def control(campaign, run=None):
    """The targeted group's conversion rate beside the control group's, in profiles, or None
    without a control group. The note says whether the difference can be trusted: a
    two-proportion z-test at 95 %, and "too few to say" when either group has fewer than
    MIN_GROUP profiles or both together fewer than MIN_CONVERSIONS conversions."""
    members = ControlMember.objects.filter(run__campaign=campaign)
    held = ControlConversion.objects.filter(run__campaign=campaign)
    rollups = RollUp.objects.filter(campaign=campaign)
    if run:
        members, held, rollups = members.filter(run=run), held.filter(run=run), rollups.filter(run=run)
    control_size = members.count()
    if not control_size:
        return None
    sums = rollups.aggregate(profiles=Sum("profiles"), converted=Sum("converted_profiles"))
    held_sums = held.aggregate(n=Count("pk"), revenue=Sum("revenue"))
    targeted = Group(sums["profiles"] or 0, sums["converted"] or 0, _sums(_daily(campaign, run))["revenue"])
    control_group = Group(control_size, held_sums["n"], held_sums["revenue"] or Decimal(0))
    return _compare(targeted, control_group)


def _compare(targeted, control_group):
    found = Comparison(targeted, control_group)
    if targeted.rate is not None and control_group.rate:
        found.lift = (targeted.rate - control_group.rate) * 100 / control_group.rate
    n1, n2 = targeted.profiles, control_group.profiles
    x1, x2 = targeted.converted, control_group.converted
    if min(n1, n2) < MIN_GROUP or x1 + x2 < MIN_CONVERSIONS:
        found.note = (
            f"Too few to say: a difference counts once both groups have at least {MIN_GROUP} people "
            f"and together at least {MIN_CONVERSIONS} conversions."
        )
        return found
    pooled = (x1 + x2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if not spread:
        found.note = "Too few to say: everyone in both groups converted."
        return found
    found.z = (x1 / n1 - x2 / n2) / spread
    found.confident = abs(found.z) >= Z_95
    if found.confident:
        found.note = "The difference is significant (two-proportion z-test, 95 % confidence)."
    else:
        found.note = "Not significant: the difference could be chance (two-proportion z-test, 95 % confidence)."
    return found


@dataclass
class Dashboard:
    running: list
    sent_today: int  # "sent" (campaigns/counts.py) on today's date in the dashboard's time zone
    top_this_week: list  # [(campaign, Numbers)] by CTR, best first
    zone: str = ""


def dashboard(*, today=None, top=5):
    """The home page's figures: campaigns running now, today's sends, the week's best CTRs
    (campaigns with at least MIN_VIEWS_FOR_TOP views in the last seven days, today included)."""
    today = today or timezone.localdate()
    running = list(Campaign.objects.filter(status=Campaign.Status.RUNNING).order_by("name")[:20])
    sent_today = DailyStat.objects.filter(day=today).aggregate(n=ROLLED["sent"])["n"] or 0
    week = (
        DailyStat.objects.filter(day__gt=today - timedelta(days=7), day__lte=today)
        .values("campaign")
        .annotate(viewed=Sum("viewed"), clicked=Sum("clicked"), sent=ROLLED["sent"])
        .filter(viewed__gte=MIN_VIEWS_FOR_TOP)
    )
    numbers = {row.pop("campaign"): Numbers(**row) for row in week}
    best = sorted(numbers.items(), key=lambda item: (-item[1].ctr, -item[1].clicked))[:top]
    names = Campaign.objects.in_bulk([pk for pk, _ in best])
    top = [(names[pk], found) for pk, found in best if pk in names]
    return Dashboard(running, sent_today, top, zone=timezone.get_current_timezone_name())


@dataclass
class VersionRow:
    number: int
    created_at: object  # when the version was made (None: before any change was kept)
    note: str
    sent: int = 0
    viewed: int = 0
    clicked: int = 0


def versions(campaign):
    """Sent, viewed and clicked per version of the campaign's messages (``campaigns.ContentVersion``,
    each sent message records the one it was rendered with), oldest first; empty for a
    campaign whose messages never changed after scheduling.

    Read from the messages, in one GROUP BY over the campaign's dispatches (a pruned one's from
    its kept tally: ``delivery.counts.kept_union``): the roll-ups are per variant and day, not
    per version, and only a changed campaign pays for this query."""
    kept = list(campaign.versions.order_by("number"))
    if len(kept) < 2:
        return []
    rows = {version.number: VersionRow(version.number, version.created_at, version.note) for version in kept}
    counted = delivery_counts.kept_union(
        Q(dispatch__run__campaign=campaign) | Q(dispatch__remainder_of_run__campaign=campaign),
        ("version",),
        {"status": Message.Status.SENT},
        sent=(Count("pk"), Sum("messages")),
        viewed=(Count("viewed_at"), Sum("viewed")),
        clicked=(Count("clicked_at"), Sum("clicked")),
    )
    for number, sent, viewed, clicked in counted:
        found = rows.setdefault(number, VersionRow(number, None, ""))
        found.sent, found.viewed, found.clicked = found.sent + sent, found.viewed + viewed, found.clicked + clicked
    return [rows[number] for number in sorted(rows)]
