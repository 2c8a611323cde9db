"""What the stats pages and CSV exports show, read from the roll-ups (never from messages).

Each function takes a campaign and, optionally, one of its runs (``None``: all runs).
"""

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from campaigns.models import Campaign, CampaignRun, ControlMember
from stats import errors as error_codes
from stats.models import ControlConversion, DailyStat, ErrorStat, RollUp

COUNTERS = ("sent", "delivered", "failed", "dropped", "viewed", "clicked", "conversions", "revenue")
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
    qualified: int | None = None
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    viewed: int = 0
    clicked: int = 0
    conversions: int = 0
    revenue: Decimal = Decimal(0)

    @property
    def ctr(self):
        """Clicks / views * 100, as seed 003 defines it (None before any view)."""
        return percent(self.clicked, self.viewed)

    @property
    def conversion_rate(self):
        return percent(self.conversions, self.delivered)


def _daily(campaign, run):
    rows = DailyStat.objects.filter(campaign=campaign)
    return rows.filter(run=run) if run else rows


def _sums(rows):
    return {name: value or 0 for name, value in rows.aggregate(**{n: Sum(n) for n in COUNTERS}).items()}


def totals(campaign, run=None):
    runs = [run] if run else CampaignRun.objects.filter(campaign=campaign).only("qualified")
    qualified = [r.qualified for r in runs if r.qualified is not None]
    return Numbers(qualified=sum(qualified) if qualified else None, **_sums(_daily(campaign, run)))


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
    viewed: int = 0
    clicked: int = 0


def trend(campaign, run=None, period="day"):
    """Sent, viewed and clicked per day, week (from Monday) or month, without gaps."""
    rows = (
        _daily(campaign, run)
        .values("day")
        .annotate(sent=Sum("sent"), viewed=Sum("viewed"), clicked=Sum("clicked"))
        .order_by("day")
    )
    buckets = {}
    for row in rows:
        point = buckets.setdefault(period_start(row["day"], period), Point(period_start(row["day"], period)))
        point.sent += row["sent"]
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
    rows = _daily(campaign, run).values("variant").annotate(**{n: Sum(n) for n in COUNTERS}).order_by("variant")
    return [
        VariantRow(
            key=row["variant"],
            label=labels.get(row["variant"], row["variant"] or "—"),
            winner=row["variant"] in winners,
            numbers=Numbers(**{n: row[n] or 0 for n in COUNTERS}),
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
            meaning=error_codes.meaning(row["code"]),
            technical=row["code"] not in error_codes.NON_TECHNICAL,
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
    sent_today: int
    top_this_week: list  # [(campaign, Numbers)] by CTR, best first


def dashboard(*, today=None, top=5):
    """The home page's figures: campaigns running now, today's sends, the week's best CTRs
    (campaigns with at least MIN_VIEWS_FOR_TOP views in the last seven days, today included)."""
    today = today or timezone.localdate()
    running = list(Campaign.objects.filter(status=Campaign.Status.RUNNING).order_by("name")[:20])
    sent_today = DailyStat.objects.filter(day=today).aggregate(n=Sum("sent"))["n"] or 0
    week = (
        DailyStat.objects.filter(day__gt=today - timedelta(days=7), day__lte=today)
        .values("campaign")
        .annotate(viewed=Sum("viewed"), clicked=Sum("clicked"), sent=Sum("sent"))
        .filter(viewed__gte=MIN_VIEWS_FOR_TOP)
    )
    numbers = {row.pop("campaign"): Numbers(**row) for row in week}
    best = sorted(numbers.items(), key=lambda item: (-item[1].ctr, -item[1].clicked))[:top]
    names = Campaign.objects.in_bulk([pk for pk, _ in best])
    return Dashboard(running, sent_today, [(names[pk], found) for pk, found in best if pk in names])
