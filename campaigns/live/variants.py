"""Which variant each send of a live campaign gets.

A/B (seed 001, "Live User Segment (Triggered) Campaigns"): the variants alternate as
people qualify (A, B, C, A, …, or in the split shares when set) until ``ab_test_size``
sends in total; the next send then picks the winner by clicks (people who clicked a
message of that variant; ties go to the earliest variant) and every later send gets
it. While fewer people than the test size have qualified, no winner is declared and
the variants keep alternating. The winner is kept on the run that picked it
(``CampaignRun.winner``), so the run history shows when it was decided.
"""

from django.db.models import Count

from campaigns.models import Campaign, CampaignRun, LiveTrigger
from delivery.models import Message


class Picker:
    """Picks variants for one batch of a campaign whose row the caller has locked."""

    def __init__(self, campaign):
        self.campaign = campaign
        self.variants = list(campaign.variants.order_by("position"))
        self.by_property = campaign.message_type == Campaign.MessageType.BY_PROPERTY
        self.ab = campaign.message_type == Campaign.MessageType.AB and len(self.variants) > 1
        self.picked_winner = None  # set when this batch decided the test
        self.winner = None
        if self.ab:
            self.winner = self._decided_winner()
            self.sent = dict.fromkeys((variant.name for variant in self.variants), 0)
            self.sent.update(
                LiveTrigger.objects.filter(campaign=campaign, status=LiveTrigger.Status.SENT)
                .values_list("variant")
                .annotate(n=Count("pk"))
                .order_by()
            )
            shares = [variant.share or 0 for variant in self.variants]
            self.weights = shares if any(shares) else [1] * len(self.variants)

    def pick(self, properties):
        """The variant for the next send to someone with these profile ``properties``, or
        None when a message by property has none for their value and no fallback."""
        if not self.variants:
            return None
        if self.by_property:
            return self._for_property(properties)
        if not self.ab:
            return self.variants[0]
        if self.winner is None and self.campaign.ab_test_size and sum(self.sent.values()) >= self.campaign.ab_test_size:
            self.winner = self.picked_winner = self._winner_by_clicks()
        if self.winner is not None:
            return self.winner
        # The variant furthest behind its share (equal shares: A, B, C, A, …); ties go to
        # the earliest.
        behind = [
            (self.sent.get(variant.name, 0) / weight, index)
            for index, (variant, weight) in enumerate(zip(self.variants, self.weights, strict=True))
            if weight
        ]
        variant = self.variants[min(behind)[1]]
        self.sent[variant.name] = self.sent.get(variant.name, 0) + 1
        return variant

    def _for_property(self, properties):
        value = (properties or {}).get(self.campaign.property_name)
        for variant in self.variants:
            if not variant.is_fallback and value is not None and variant.property_value == str(value):
                return variant
        return next((variant for variant in self.variants if variant.is_fallback), None)

    def _decided_winner(self):
        name = (
            CampaignRun.objects.filter(campaign=self.campaign)
            .exclude(winner="")
            .order_by("winner_picked_at")
            .values_list("winner", flat=True)
            .first()
        )
        return next((variant for variant in self.variants if variant.name == name), None)

    def _winner_by_clicks(self):
        clicks = dict(
            Message.objects.filter(dispatch__run__campaign=self.campaign, clicked_at__isnull=False)
            .values_list("variant")
            .annotate(n=Count("profile", distinct=True))
            .order_by()
        )
        # max() keeps the first of equals: the earliest variant wins a tie.
        return max(self.variants, key=lambda variant: clicks.get(variant.name, 0))
