"""Which variant each send of a live campaign gets (keys as scheduled runs name them:
``plans.variant_keys``).

A/B (seed 001, "Live User Segment (Triggered) Campaigns"): the variants alternate as
people qualify (A, B, C, A, …, or in the split shares when set) until ``ab_test_size``
sends in total; the next send then picks the winner by clicks on the campaign's messages
(``ab.pick_winner``: ties go to the earliest variant) and every later send gets it. While
fewer people than the test size have qualified, no winner is declared and the variants
keep alternating. The winner is kept on the run that picked it (``CampaignRun.winner``),
so the run history shows when it was decided.

One message per property value: the variant for the person's value of the property (a
custom property, else the profile field of that name; compared without case), else the
fallback, else none (the person is skipped), as in scheduled runs.
"""

from django.db.models import Count

from campaigns.actions.ab import pick_winner
from campaigns.actions.plans import variant_keys
from campaigns.actions.runs import PROFILE_FIELDS
from campaigns.models import Campaign, CampaignRun, LiveTrigger
from delivery.models import Message


class Picker:
    """Picks variant keys for one batch of a campaign whose row the caller has locked."""

    def __init__(self, campaign):
        self.campaign = campaign
        self.variants = variant_keys(list(campaign.variants.order_by("position")))  # key -> Variant
        self.keys = list(self.variants)
        self.property = campaign.property_name if campaign.message_type == Campaign.MessageType.BY_PROPERTY else ""
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
        return [self.property] if self.property in PROFILE_FIELDS else []

    def contents(self):
        return {key: variant.content for key, variant in self.variants.items()}

    def pick(self, profile):
        """The key for the next send to ``profile`` (a dict of ``properties`` and
        ``fields``), or None when a message by property has none for them."""
        if not self.keys:
            return None
        if self.property:
            return self._for_property(profile)
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

    def _for_property(self, profile):
        custom = profile.get("properties") or {}
        value = custom.get(self.property) if self.property in custom else profile.get(self.property)
        fallback = next((key for key, variant in self.variants.items() if variant.is_fallback), None)
        if value is None or value == "":
            return fallback
        wanted = str(value).strip().lower()
        for key, variant in self.variants.items():
            if not variant.is_fallback and variant.property_value.strip().lower() == wanted:
                return key
        return fallback

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
        clicks = dict(
            Message.objects.filter(dispatch__run__campaign=self.campaign, clicked_at__isnull=False)
            .values_list("variant")
            .annotate(n=Count("pk"))
            .order_by()
        )
        return pick_winner(self.keys, clicks)
