"""Who gets what in a scheduled run: how many of the qualified go to the control group and
to the message, and which variant each of them gets (``Plan``), drawn without a list of the
audience (``Sample``, ``Quotas``) from the run's seeded generator (campaigns/actions/runs.py)."""

from dataclasses import dataclass, field

from campaigns.models import Campaign


class Sample:
    """Exactly ``want`` of ``total`` items seen one at a time, each equally likely to be
    taken (Knuth's selection sampling, Algorithm S): no list of the items is needed."""

    def __init__(self, rng, want, total):
        self.rng, self.want, self.left = rng, max(0, want), total

    def take(self):
        taken = self.want > 0 and (self.left <= self.want or self.rng.random() * self.left < self.want)
        self.left -= 1
        self.want -= taken
        return taken


class Quotas:
    """Hands out keys at random until each has been given its quota: exact counts per key."""

    def __init__(self, rng, quotas):
        self.rng, self.left = rng, dict(quotas)

    def pick(self):
        total = sum(self.left.values())
        if total <= 0:
            return None
        roll = self.rng.randrange(total)
        for key, left in self.left.items():
            if roll < left:
                self.left[key] -= 1
                return key
            roll -= left
        return None


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
    """How many of the qualified go to the control group and to the message, and how the
    message's people get their variant."""

    variants: dict  # key -> Variant
    qualified: int
    control: int
    targeted: int
    mode: str  # "single", "equal", "ab", "split", "property"
    test: int = 0  # A/B: the test population (variants equally); the rest waits for the winner
    note: str = ""
    by_value: dict = field(default_factory=dict)  # property value (lower case) -> key
    fallback: str | None = None

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
        plan = cls(variants, qualified, control, targeted, "single")
        kind = campaign.message_type
        if kind == Campaign.MessageType.BY_PROPERTY:
            plan.mode = "property"
            for key, variant in variants.items():
                if variant.is_fallback:
                    plan.fallback = plan.fallback or key
                elif variant.property_value:
                    plan.by_value.setdefault(variant.property_value.strip().lower(), key)
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

    def chooser(self, rng):
        """A function (property value) -> variant key for each targeted profile in turn;
        None for a profile that gets nothing (by property, no match and no fallback), and
        "" for one kept for the A/B winner."""
        keys = list(self.variants)
        if self.mode == "property":
            return lambda value: (
                self.by_value.get(str(value).strip().lower(), self.fallback) if value is not None else self.fallback
            )
        if self.mode == "single":
            return lambda value: keys[0]
        if self.mode == "equal":
            quotas = Quotas(rng, equal_quotas(keys, self.targeted))
            return lambda value: quotas.pick()
        if self.mode == "split":
            quotas = Quotas(rng, share_quotas({k: v.share for k, v in self.variants.items()}, self.targeted))
            return lambda value: quotas.pick()
        test = Sample(rng, self.test, self.targeted)
        quotas = Quotas(rng, equal_quotas(keys, self.test))
        return lambda value: quotas.pick() if test.take() else ""
