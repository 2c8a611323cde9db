from django.conf import settings
from django.db import models

from campaigns.models.campaign import Campaign


class CampaignRun(models.Model):
    """One firing of a campaign: unique per campaign and planned time, so a second
    dispatcher tick or beat process cannot double it (DESIGN.md "How a scheduled run
    flows"). Its messages belong to the delivery ``Dispatch`` it points at."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        STOPPED = "stopped", "Stopped"
        SKIPPED = "skipped", "Skipped"
        # Could not start (campaigns.actions.runs.do_fail_run): nothing was sent, the reason
        # is in skipped_reason and the owner was emailed.
        FAILED = "failed", "Failed"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="runs")
    planned_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    dispatch = models.OneToOneField(
        "delivery.Dispatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="run"
    )
    qualified = models.PositiveIntegerField(null=True, blank=True, help_text="Profiles the segment selected.")
    targeted = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Profiles sent to (or kept for the A/B winner) after the control group and limits.",
    )
    # Why a run was skipped, stopped (the safety check) or failed; shown with the run.
    skipped_reason = models.CharField(max_length=300, blank=True)
    note = models.CharField(max_length=300, blank=True, help_text="Something the marketer should know about this run.")
    # A/B test of a past-behaviour campaign: ``dispatch`` holds the test population; the
    # rest of the audience, chosen when the run started, waits in ``remainder`` (open, not
    # started) until ``finish_ab_tests`` picks the winner after ``ab_ends_at``.
    remainder = models.OneToOneField(
        "delivery.Dispatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="remainder_of_run"
    )
    ab_ends_at = models.DateTimeField(null=True, blank=True, help_text="When the A/B test's winner is picked.")
    winner = models.CharField(max_length=40, blank=True, help_text="The A/B variant with the most clicks.")
    winner_picked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-planned_at"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "planned_at"], name="campaigns_run_once_per_time"),
        ]

    def __str__(self):
        return f"{self.campaign} @ {self.planned_at:%Y-%m-%d %H:%M}"


class ControlMember(models.Model):
    """A profile held out of a run as its control group: qualified, deliberately not sent,
    so stats can compare their conversions with the targeted group's.

    ``profile`` has no database constraint (``db_constraint=False``), as ``Message.profile``:
    a run's start writes its control group in the same transaction as its messages, and
    PostgreSQL checked the constraint row by row at the commit. Deleting a profile still
    deletes its rows (on_delete=CASCADE in the ORM, through the field's index); a DELETE
    written by hand in SQL would leave them."""

    run = models.ForeignKey(CampaignRun, on_delete=models.CASCADE, related_name="control_members")
    profile = models.ForeignKey("segments.Profile", on_delete=models.CASCADE, related_name="+", db_constraint=False)

    class Meta:
        verbose_name = "control group member"
        constraints = [
            models.UniqueConstraint(fields=["run", "profile"], name="campaigns_control_member_uniq"),
        ]

    def __str__(self):
        return f"{self.profile_id} held out of {self.run_id}"


class TestSend(models.Model):
    """A "Send a test" from the What step: which variant, to which test profiles, and
    what became of it (through the delivery engine's ``Dispatch`` when it is sent)."""

    class Status(models.TextChoices):
        RECORDED = "recorded", "Recorded, not sent"
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="test_sends")
    variant = models.ForeignKey("campaigns.Variant", null=True, on_delete=models.SET_NULL, related_name="+")
    profiles = models.ManyToManyField("segments.Profile", related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECORDED)
    note = models.CharField(max_length=300, blank=True)
    dispatch = models.OneToOneField(
        "delivery.Dispatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="test_send"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"test of {self.campaign} at {self.created_at:%Y-%m-%d %H:%M}"
