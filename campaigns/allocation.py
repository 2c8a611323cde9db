"""Who gets what, for a scheduled run and a live send alike: the one place that decides
the variant of each person, the quotas, and the delivery rules of the dispatch.

- The variant: one message per property value (``ByProperty``: the person's value of a
  custom property, else of the profile field of that name, compared by ``normalise``), or
  the A/B variants with their winner by clicks (``clicks_per_variant``, ``pick_winner``).
  A scheduled run knows its audience before it sends, so it draws exact counts: its
  people are ranked by a hash seeded by the run and each rank falls in one span of the plan
  (``Plan.spans``, ``Draw``; the same rule as SQL for PostgreSQL, ``draw_key_sql``); a
  live campaign meets its people one at a time, so its variants take turns until the test
  size (``LivePicker``).
- The quotas: a run's control group, target cap and run limit (``Plan.make``); a live
  campaign's stable control group, daily limit and total cap (``in_control_group``,
  ``LiveLimits``).
- The dispatch rules both paths share (``rules_for``): the campaign's zone, DND hours, the
  global caps' opt-out. Scheduled runs add their cut-off and user time zone
  (``campaigns/actions/dispatcher.py``).
"""

import bisect
import hashlib
from dataclasses import dataclass
from datetime import datetime, time

from django.db.models import Count, Q, Sum

from campaigns import schedule
from campaigns.models import Campaign, CampaignRun, LiveTrigger
from delivery.counts import kept_union

# Built-in profile fields whose value can pick the message of a "one message per property
# value" campaign, besides the custom properties; the What step offers the same list.
PROPERTY_FIELDS = ("language", "country", "region", "city", "gender", "timezone")


def normalise(value):
    """A property value as it is compared: "  GOLD " is "gold". ``casefold`` rather than
    ``lower``: it is Python's caseless comparison ("Straße" is "STRASSE"), and the What step's
    check for two variants of one value uses this same function."""
    return str(value).strip().casefold()


def property_column(name):
    """The profile column read for property ``name``, or None for a custom property only."""
    return name if name in PROPERTY_FIELDS else None


def property_value(name, properties, column_value=None):
    """A person's value of property ``name``: their custom property of that name, else the
    profile column's value (``column_value``)."""
    custom = properties if isinstance(properties, dict) else {}
    return custom.get(name, column_value)


class ByProperty:
    """The variant for each value of a campaign's property: the first variant for that
    value, else the fallback, else None (the person gets nothing)."""

    def __init__(self, variants):
        self.by_value, self.fallback = {}, None  # normalised value -> key
        for key, variant in variants.items():
            if variant.is_fallback:
                self.fallback = self.fallback or key
            elif variant.property_value:
                self.by_value.setdefault(normalise(variant.property_value), key)

    def key(self, value):
        if value is None or value == "":
            return self.fallback
        return self.by_value.get(normalise(value), self.fallback)


# --- scheduled runs: exact counts, drawn by a hash seeded by the run ---------------------


def equal_quotas(keys, total):
    """``total`` split over ``keys`` as equally as whole numbers allow (earlier keys get the extra)."""
    each, extra = divmod(total, len(keys))
    return {key: each + (i < extra) for i, key in enumerate(keys)}


def share_quotas(shares, total):
    """``total`` split by percentages (largest remainder), so the counts add up to ``total``."""
    exact = {key: total * share / 100 for key, share in shares.items()}
    quotas = {key: int(value) for key, value in exact.items()}
    short = total - sum(quotas.values())
    for key in sorted(exact, key=lambda k: exact[k] - quotas[k], reverse=True)[: max(short, 0)]:
        quotas[key] += 1
    return quotas


def variant_keys(variants):
    """{key: variant}: the names, or letters by position when names repeat."""
    names = [variant.name for variant in variants]
    if len(set(names)) == len(names) and all(names):
        return dict(zip(names, variants, strict=True))
    return {chr(ord("A") + i) if i < 26 else str(i): variant for i, variant in enumerate(variants)}


@dataclass
class Plan:
    """How many of the qualified go to a scheduled run's control group and to its message
    (the quotas: the control group's share, then the target cap, the run limit and, for a
    run spread over each person's day, the daily limit), and how
    the message's people get their variant."""

    variants: dict  # key -> Variant
    qualified: int
    control: int
    targeted: int
    mode: str  # "single", "equal", "ab", "split", "property"
    test: int = 0  # A/B: the test population (variants equally); the rest waits for the winner
    note: str = ""
    by_property: ByProperty | None = None

    @property
    def keeps_remainder(self):
        return self.mode == "ab"

    @classmethod
    def make(cls, campaign, run, qualified):
        variants = variant_keys(list(campaign.variants.order_by("position")))
        control = qualified * campaign.control_group_percent // 100
        targeted = qualified - control
        if campaign.reach_mode == Campaign.ReachMode.CAP and campaign.target_cap is not None:
            targeted = min(targeted, campaign.target_cap)
        if campaign.run_limit is not None:
            targeted = min(targeted, campaign.run_limit)
        if campaign.daily_limit is not None and (campaign.best_time or campaign.user_timezone):
            # A run delivered in each person's own time (their best hour, or the planned time
            # in their zone) spreads over a day: the daily limit is this day's quota.
            targeted = min(targeted, campaign.daily_limit)
        plan = cls(variants, qualified, control, targeted, "single")
        kind = campaign.message_type
        if kind == Campaign.MessageType.BY_PROPERTY:
            plan.mode, plan.by_property = "property", ByProperty(variants)
        elif kind == Campaign.MessageType.AB and len(variants) > 1:
            if all(variant.share for variant in variants.values()):
                plan.mode = "split"
            else:
                plan._ab(campaign)
        return plan

    def _ab(self, campaign):
        size = campaign.ab_test_size or 0
        wanted = size if campaign.ab_mode == Campaign.AbMode.COUNT else self.targeted * size // 100
        each = wanted // len(self.variants)
        if each == 0 or each * len(self.variants) >= self.targeted:
            self.mode = "equal"
            self.note = (
                f"Too few qualifying users for an A/B test ({self.targeted} to send to, a test of {wanted}): "
                "the variants were sent equally to everyone and no winner is picked."
            )
        else:
            self.mode, self.test = "ab", each * len(self.variants)

    def spans(self):
        """The run's draw in rank order (``Draw``): the control group, then the targeted
        people by variant (A/B: the test population, then those kept for the winner; by
        property: one span, keyed by value), then those over the cap. Exact counts, as the
        quotas say; empty spans left out."""
        keys = list(self.variants)
        spans = [Span(self.control, CONTROL)]
        if self.mode == "property":
            spans.append(Span(self.targeted, BY_VALUE))
        elif self.mode == "single":
            spans.append(Span(self.targeted, SEND, keys[0]))
        elif self.mode == "equal":
            spans += [Span(n, SEND, key) for key, n in equal_quotas(keys, self.targeted).items()]
        elif self.mode == "split":
            shares = share_quotas({k: v.share for k, v in self.variants.items()}, self.targeted)
            spans += [Span(n, SEND, key) for key, n in shares.items()]
        else:
            spans += [Span(n, SEND, key) for key, n in equal_quotas(keys, self.test).items()]
            spans.append(Span(self.targeted - self.test, WAIT))
        spans.append(Span(self.qualified - self.control - self.targeted, OVER_CAP))
        return [span for span in spans if span.size > 0]

    def key(self, span, value):
        """The variant key of a person in ``span`` whose property value is ``value``: None
        for one who gets nothing (held out, over the cap, by property without a match or a
        fallback), "" for one kept for the A/B winner."""
        if span.outcome == SEND:
            return span.key
        if span.outcome == WAIT:
            return ""
        if span.outcome == BY_VALUE:
            return self.by_property.key(value)
        return None


# What a rank of a run's draw means (``Span.outcome``).
CONTROL, SEND, WAIT, BY_VALUE, OVER_CAP = "control", "send", "wait", "by value", "over cap"


@dataclass(frozen=True)
class Span:
    size: int
    outcome: str
    key: str = ""  # SEND: the variant


def seed_number(seed):
    """The 64-bit number a draw's seed (text) stands for in ``draw_key``: the first 8 bytes
    of its sha256, signed as PostgreSQL's bigint."""
    return int.from_bytes(hashlib.sha256(str(seed).encode()).digest()[:8], "big", signed=True)


def draw_key(seed, profile_id):
    """A person's place in a draw seeded by ``seed``: PostgreSQL's ``hashint8extended`` of
    their id seeded by ``seed_number(seed)`` (Bob Jenkins' lookup3 mix, the hash behind hash
    partitioning, so its value does not change between releases), a signed 64-bit number.
    A hash, not a generator's next number, so the database computes it too
    (``draw_key_sql``), at about the cost of reading a column where a sha256 of text per
    person cost several microseconds; and a person's place does not depend on who else is
    read before them."""
    lohalf, hihalf = profile_id & _U32, (profile_id >> 32) & _U32
    lohalf ^= hihalf if profile_id >= 0 else ~hihalf & _U32
    return _hash_uint32_extended(lohalf, seed_number(seed))


def draw_key_sql(id_column):
    """``draw_key`` in PostgreSQL (a bigint), its one parameter ``seed_number(seed)``."""
    return f"hashint8extended({id_column}::bigint, %s::bigint)"


_U32 = 0xFFFFFFFF


def _rot(x, k):
    return ((x << k) | (x >> (32 - k))) & _U32


def _hash_uint32_extended(k, seed):
    """PostgreSQL's ``hash_bytes_uint32_extended`` (src/common/hashfn.c), bit for bit."""
    a = b = c = (0x9E3779B9 + 4 + 3923095) & _U32
    seed &= 0xFFFFFFFFFFFFFFFF
    if seed:
        a, b = (a + (seed >> 32)) & _U32, (b + seed) & _U32
        # mix(a, b, c)
        a = ((a - c) & _U32) ^ _rot(c, 4)
        c = (c + b) & _U32
        b = ((b - a) & _U32) ^ _rot(a, 6)
        a = (a + c) & _U32
        c = ((c - b) & _U32) ^ _rot(b, 8)
        b = (b + a) & _U32
        a = ((a - c) & _U32) ^ _rot(c, 16)
        c = (c + b) & _U32
        b = ((b - a) & _U32) ^ _rot(a, 19)
        a = (a + c) & _U32
        c = ((c - b) & _U32) ^ _rot(b, 4)
        b = (b + a) & _U32
    a = (a + k) & _U32
    # final(a, b, c)
    c = ((c ^ b) - _rot(b, 14)) & _U32
    a = ((a ^ c) - _rot(c, 11)) & _U32
    b = ((b ^ a) - _rot(a, 25)) & _U32
    c = ((c ^ b) - _rot(b, 16)) & _U32
    a = ((a ^ c) - _rot(c, 4)) & _U32
    b = ((b ^ a) - _rot(a, 14)) & _U32
    c = ((c ^ b) - _rot(b, 24)) & _U32
    result = (b << 32) | c
    return result - (1 << 64) if result >= 1 << 63 else result


class Draw:
    """A scheduled run's draw: its qualified people ranked by (``draw_key``, profile id),
    rank 0 first, and cut into ``Plan.spans`` in that order: the first ``control`` ranks
    are held out, and so on. ``cuts`` are the (key, profile id) of each span's first rank
    but the first's, found by ``cuts`` (Python) or ``cuts_sql`` (PostgreSQL); with them a
    person's span needs nothing but their own id (``span``, or ``span_sql`` in a query)."""

    # The cut of a rank past the audience's end: when people stopped qualifying between the
    # count and the draw (READ COMMITTED), the last spans are the shorter.
    END = (2**63 - 1, 2**63 - 1)

    def __init__(self, seed, spans, cuts):
        cuts = [tuple(cut) for cut in cuts]
        self.seed, self.spans = seed, spans
        self.cuts = cuts + [self.END] * (len(spans) - 1 - len(cuts))

    @staticmethod
    def ranks(spans):
        """The rank at which each span but the first starts."""
        starts, total = [], 0
        for span in spans[:-1]:
            total += span.size
            starts.append(total)
        return starts

    @classmethod
    def cuts(cls, seed, spans, profile_ids):
        """The cuts from the audience's ids, sorted in memory (the embedded SQLite mode)."""
        ranks = cls.ranks(spans)
        if not ranks:
            return []
        order = sorted((draw_key(seed, profile_id), profile_id) for profile_id in profile_ids)
        return [order[rank] for rank in ranks if rank < len(order)]

    @classmethod
    def cuts_sql(cls, spans, audience_sql):
        """(SQL, parameters after the seed's number, ``seed_number``) of the cuts of
        ``audience_sql`` (a query of profile ids named ``id``), in rank order; one sort in
        the database."""
        key = draw_key_sql("a.id")
        return (
            f"SELECT k, id FROM (SELECT k, id, row_number() OVER (ORDER BY k, id) - 1 AS r"  # noqa: S608
            f" FROM (SELECT {key} AS k, a.id FROM ({audience_sql}) a) keyed) ranked"
            " WHERE r = ANY(%s) ORDER BY r",
            [cls.ranks(spans)],
        )

    def span(self, profile_id):
        return self.spans[bisect.bisect_right(self.cuts, (draw_key(self.seed, profile_id), profile_id))]

    def span_sql(self, key_column, id_column):
        """(SQL, parameters) of the index in ``spans`` of the row whose key and profile id
        are these columns."""
        if not self.cuts:
            return "0", []
        sql, params = ["CASE"], []
        for index, cut in enumerate(self.cuts):
            sql.append(f"WHEN ({key_column}, {id_column}) < (%s::bigint, %s::bigint) THEN {index}")
            params += cut
        sql.append(f"ELSE {len(self.cuts)} END")
        return " ".join(sql), params


# --- the A/B winner ---------------------------------------------------------------------


def clicks_per_variant(where):
    """{variant key: clicked messages} of the dispatches ``where`` selects (a Q over
    ``dispatch``: a run's, or every one of a live campaign); a pruned dispatch's from the
    tally kept when its messages were deleted (``delivery.counts.kept_union``)."""
    clicks = {}
    for variant, n in kept_union(where, ("variant",), n=(Count("clicked_at"), Sum("clicked"))):
        clicks[variant] = clicks.get(variant, 0) + n
    return {variant: n for variant, n in clicks.items() if n}


def pick_winner(keys, clicks):
    """The key with the most clicks; on a tie, the earliest of ``keys``."""
    return max(keys, key=lambda key: (clicks.get(key, 0), -keys.index(key)))


# --- live sends -------------------------------------------------------------------------


class LivePicker:
    """Which variant each send of a live campaign gets, for one batch of a campaign whose row
    the caller has locked (keys as scheduled runs name them: ``variant_keys``).

    A/B (seed 001, "Live User Segment (Triggered) Campaigns"): the variants alternate as
    people qualify (A, B, C, A, …, or in the split shares when set) until ``ab_test_size``
    sends in total; the next send then picks the winner by clicks on the campaign's messages
    (``pick_winner``: ties go to the earliest variant) and every later send gets it. While
    fewer people than the test size have qualified, no winner is declared and the variants
    keep alternating. The winner is kept on the run that picked it (``CampaignRun.winner``),
    so the run history shows when it was decided.

    One message per property value: ``ByProperty``, as in scheduled runs."""

    def __init__(self, campaign):
        self.campaign = campaign
        self.variants = variant_keys(list(campaign.variants.order_by("position")))  # key -> Variant
        self.keys = list(self.variants)
        self.property = campaign.property_name if campaign.message_type == Campaign.MessageType.BY_PROPERTY else ""
        self.by_property = ByProperty(self.variants) if self.property else None
        self.ab = campaign.message_type == Campaign.MessageType.AB and len(self.keys) > 1
        self.winner = self.picked_winner = None  # picked_winner: decided by this batch
        if self.ab:
            self.winner = self._decided_winner()
            self.sent = dict.fromkeys(self.keys, 0)
            self.sent.update(
                LiveTrigger.objects.filter(campaign=campaign, status=LiveTrigger.Status.SENT)
                .values_list("variant")
                .annotate(n=Count("pk"))
                .order_by()
            )
            shares = [variant.share or 0 for variant in self.variants.values()]
            self.weights = shares if any(shares) else [1] * len(self.keys)

    @property
    def fields(self):
        """The profile fields ``pick`` needs besides ``properties``."""
        column = property_column(self.property)
        return [column] if column else []

    def contents(self):
        return {key: variant.content for key, variant in self.variants.items()}

    def pick(self, profile):
        """The key for the next send to ``profile`` (a dict of ``properties`` and
        ``fields``), or None when a message by property has none for them."""
        if not self.keys:
            return None
        if self.property:
            value = property_value(self.property, profile.get("properties"), profile.get(self.property))
            return self.by_property.key(value)
        if not self.ab:
            return self.keys[0]
        if self.winner is None and self.campaign.ab_test_size and sum(self.sent.values()) >= self.campaign.ab_test_size:
            self.winner = self.picked_winner = self._winner_by_clicks()
        if self.winner is not None:
            return self.winner
        # The variant furthest behind its share (equal shares: A, B, C, A, …); ties go to
        # the earliest.
        behind = [
            (self.sent.get(key, 0) / weight, index)
            for index, (key, weight) in enumerate(zip(self.keys, self.weights, strict=True))
            if weight
        ]
        key = self.keys[min(behind)[1]]
        self.sent[key] = self.sent.get(key, 0) + 1
        return key

    def _decided_winner(self):
        found = (
            CampaignRun.objects.filter(campaign=self.campaign)
            .exclude(winner="")
            .order_by("winner_picked_at")
            .values_list("winner", flat=True)
            .first()
        )
        return found if found in self.variants else None

    def _winner_by_clicks(self):
        return pick_winner(self.keys, clicks_per_variant(Q(dispatch__run__campaign=self.campaign)))


def in_control_group(campaign, profile_id):
    """Whether the person is held out of a live campaign: a stable share of people per
    campaign (a hash, not a coin toss, so someone held out once stays held out and the groups
    stay comparable). A scheduled run draws its exact count instead (``Plan.make``)."""
    if not campaign.control_group_percent:
        return False
    # The first 32 bits of sha256("<campaign id>:<profile id>"), as since live campaigns
    # began: a different hash would move people between a running campaign's groups.
    digest = hashlib.sha256(f"{campaign.pk}:{profile_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < campaign.control_group_percent


def day_start(campaign, now):
    """When ``now``'s day began in the campaign's time zone: where a live campaign's daily
    limit counts from, and a pop-up's once a day (``campaigns/popups.py``)."""
    tz = schedule.zone(campaign.timezone)
    return schedule.to_utc(datetime.combine(now.astimezone(tz).date(), time()), tz)


class LiveLimits:
    """A live campaign's daily limit (people per day, in the campaign's time zone) and total
    cap (``target_cap``: sends over the campaign's life, where a scheduled run's cap is per
    run), counted once from the database and then in memory for the batch."""

    def __init__(self, campaign, profile_ids, now):
        self.campaign = campaign
        sent = LiveTrigger.objects.filter(campaign=campaign, status=LiveTrigger.Status.SENT)
        self.total = sent.count() if campaign.target_cap else 0
        self.today, self.today_count = set(), 0
        if campaign.daily_limit:
            today = sent.filter(decided_at__gte=day_start(campaign, now))
            self.today_count = today.values("profile_id").distinct().count()
            self.today = set(today.filter(profile_id__in=profile_ids).values_list("profile_id", flat=True))

    def cap_reached(self):
        return bool(self.campaign.target_cap) and self.total >= self.campaign.target_cap

    def today_allows(self, profile_id):
        limit = self.campaign.daily_limit
        return not limit or profile_id in self.today or self.today_count < limit

    def count(self, profile_id):
        self.total += 1
        if profile_id not in self.today:
            self.today.add(profile_id)
            self.today_count += 1


# --- the dispatch rules -----------------------------------------------------------------


def rules_for(campaign):
    """The dispatch ``rules`` (keys: delivery/actions/dispatches.py) of a campaign's When
    step that every send of it shares: its time zone (a valid name: an unknown one is UTC,
    ``schedule.zone``; a person without a valid zone of their own is read in this one,
    ``delivery.zones.person_zone``), its DND hours, and whether the global frequency caps
    apply. A scheduled run adds its cut-off and the user's time zone."""
    rules = {"timezone": schedule.zone(campaign.timezone).key, "skip_global_limits": campaign.skip_global_limits}
    if campaign.dnd_enabled and campaign.dnd_start and campaign.dnd_end:
        rules["dnd"] = {
            "start": f"{campaign.dnd_start:%H:%M}",
            "end": f"{campaign.dnd_end:%H:%M}",
            "action": campaign.dnd_action,
        }
    return rules
