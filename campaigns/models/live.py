from django.db import models
from django.db.models import Q

from campaigns.models.campaign import Campaign
from campaigns.models.runs import CampaignRun


class LiveTrigger(models.Model):
    """One trigger event of a live campaign and what became of it (campaigns/live/).

    Unique per campaign and event, so a person gets a live campaign at most once per
    trigger even when the evaluation task runs twice. An inaction window or a
    date-property send waits here as ``pending`` until ``due_at``; the beat task
    "check inaction windows" claims the due ones. ``reason`` says why one was not sent.
    An API-triggered campaign's sends have no event: one row per person of each request
    (counted by the daily limit and the total cap like the others)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"  # an inaction window or a date-property send, until due_at
        SENT = "sent", "Sent"  # its messages are in the run's dispatch
        HELD_OUT = "held_out", "Held out (control group)"
        CANCELLED = "cancelled", "Cancelled"  # the inaction event came inside the window
        SKIPPED = "skipped", "Skipped"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="live_triggers")
    # None for an API-triggered campaign's send: a request, not an event, triggered it.
    event = models.ForeignKey("segments.Event", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    profile = models.ForeignKey("segments.Profile", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField(null=True, blank=True, help_text="Pending: when it is sent unless cancelled.")
    reason = models.CharField(max_length=300, blank=True)
    variant = models.CharField(max_length=40, blank=True)
    run = models.ForeignKey(CampaignRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True, help_text="When it was sent, held out or dropped.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "event"], name="campaigns_live_once_per_trigger"),
        ]
        indexes = [
            # The beat task's claim of due rows.
            models.Index(fields=["due_at"], condition=Q(status="pending"), name="campaigns_live_due_idx"),
            # An inaction event cancelling its person's open windows.
            models.Index(fields=["profile"], condition=Q(status="pending"), name="campaigns_live_open_idx"),
            # The daily limit, the total cap and the A/B counts.
            models.Index(fields=["campaign", "status", "decided_at"], name="campaigns_live_sent_idx"),
        ]

    def __str__(self):
        return f"{self.campaign_id} on event {self.event_id}: {self.status}"
