"""What campaigns did: conversions as they are found, and the roll-ups stats pages read.

Views and clicks live on the message itself (``delivery.Message.viewed_at`` / ``clicked_at``,
set once by ``stats.actions.tracking``). Conversions are rows here, one per message at most.
The roll-ups (``DailyStat``, ``ErrorStat``) are recomputed per dispatch by
``stats.actions.rollup`` whenever its messages may have changed, so a stats page sums a few
hundred rows instead of counting millions of messages.
"""

from django.db import models


class Conversion(models.Model):
    """A goal event credited to the message that led to it: at most one per message, and
    one per event and campaign (the latest message of the campaign within the window wins)."""

    # Emptied when the message is pruned (MESSAGE_RETENTION_DAYS): the conversion stays, counted.
    message = models.OneToOneField(
        "delivery.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    dispatch = models.ForeignKey("delivery.Dispatch", on_delete=models.CASCADE, related_name="+", db_index=False)
    variant = models.CharField(max_length=40, blank=True)
    event = models.ForeignKey("segments.Event", null=True, on_delete=models.SET_NULL, related_name="+")
    occurred_at = models.DateTimeField()
    revenue = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "campaign"], name="stats_conversion_once_per_event"),
        ]
        indexes = [models.Index(fields=["dispatch", "occurred_at"], name="stats_conversion_dispatch_idx")]

    def __str__(self):
        return f"conversion of message {self.message_id}"


class ControlConversion(models.Model):
    """A goal event by a profile held out of a run (``campaigns.ControlMember``) inside the
    funnel window after the run started: what the campaign is compared with."""

    run = models.ForeignKey("campaigns.CampaignRun", on_delete=models.CASCADE, related_name="+")
    profile = models.ForeignKey("segments.Profile", on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey("segments.Event", null=True, on_delete=models.SET_NULL, related_name="+")
    occurred_at = models.DateTimeField()
    revenue = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "profile"], name="stats_control_conversion_once"),
        ]

    def __str__(self):
        return f"control conversion of profile {self.profile_id} in run {self.run_id}"


class RollUp(models.Model):
    """Bookkeeping for one dispatch of a campaign run: which campaign and run it counts for,
    and whether its roll-up is current. Tracking bumps ``changes`` in the transaction that
    changes a message; the roll-up reads it before it reads the messages and stores it as
    ``rolled_changes``, so a change committed meanwhile is caught on the next pass."""

    dispatch = models.OneToOneField("delivery.Dispatch", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey("campaigns.CampaignRun", null=True, on_delete=models.CASCADE, related_name="+")
    changes = models.PositiveBigIntegerField(default=0)
    # The profiles it targeted and how many of them converted, for the control-group
    # comparison (the control group is counted in profiles too).
    profiles = models.PositiveIntegerField(default=0)
    converted_profiles = models.PositiveIntegerField(default=0)
    rolled_changes = models.PositiveBigIntegerField(default=0)
    rolled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "roll-up"

    def __str__(self):
        return f"roll-up of dispatch {self.dispatch_id}"


class DailyStat(models.Model):
    """One dispatch's numbers for one variant and day (in the dashboard's time zone). Each
    counter is dated by its own moment: sent by when it was sent, viewed by when it was
    viewed, and so on, so the trend charts show when things happened."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey("campaigns.CampaignRun", null=True, on_delete=models.CASCADE, related_name="+")
    dispatch = models.ForeignKey("delivery.Dispatch", on_delete=models.CASCADE, related_name="+", db_index=False)
    variant = models.CharField(max_length=40, blank=True)
    day = models.DateField()
    sent = models.PositiveIntegerField(default=0, help_text="Handed to the push service: accepted or refused.")
    delivered = models.PositiveIntegerField(default=0, help_text="Accepted by the push service.")
    failed = models.PositiveIntegerField(default=0)
    dropped = models.PositiveIntegerField(default=0, help_text="Not sent on purpose: caps, DND, cut-off, stop.")
    rendered = models.PositiveIntegerField(default=0, help_text="Displayed on the device (impressions).")
    viewed = models.PositiveIntegerField(default=0)
    clicked = models.PositiveIntegerField(default=0)
    conversions = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        verbose_name = "daily count"
        constraints = [
            models.UniqueConstraint(fields=["dispatch", "variant", "day"], name="stats_daily_once"),
        ]
        indexes = [models.Index(fields=["campaign", "day"], name="stats_daily_campaign_idx")]

    def __str__(self):
        return f"{self.campaign_id} / {self.variant or '-'} / {self.day}"


class ErrorStat(models.Model):
    """How many of one dispatch's messages (per variant) failed or were dropped with a code."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey("campaigns.CampaignRun", null=True, on_delete=models.CASCADE, related_name="+")
    dispatch = models.ForeignKey("delivery.Dispatch", on_delete=models.CASCADE, related_name="+", db_index=False)
    variant = models.CharField(max_length=40, blank=True)
    status = models.CharField(
        max_length=8, help_text="Failed (the push service refused it) or dropped (not sent on purpose)."
    )
    code = models.CharField(max_length=40, blank=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "error count"
        constraints = [
            models.UniqueConstraint(fields=["dispatch", "variant", "status", "code"], name="stats_error_once"),
        ]
        indexes = [models.Index(fields=["campaign"], name="stats_error_campaign_idx")]

    def __str__(self):
        return f"{self.code or self.status}: {self.count}"
