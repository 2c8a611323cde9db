from django.db import models
from django.db.models import Q


class PermissionPrompt(models.Model):
    """One soft-onboarding prompt of a "Push permission request" campaign given to one
    browser (campaigns/onboarding.py), and what the person did with it.

    ``key`` is the public id the SDK reports with; a report is accepted only from the
    browser it was given to (its device's client id). Each outcome is stamped once.
    ``later_until`` is the device's "Maybe later": no prompt of any permission request
    is given to that browser before it (seed 002, "you can ask him again later")."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="permission_prompts")
    device = models.ForeignKey("segments.Device", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=32, unique=True)
    given_at = models.DateTimeField()
    shown_at = models.DateTimeField(null=True, blank=True)
    subscribed_at = models.DateTimeField(null=True, blank=True)
    blocked_at = models.DateTimeField(null=True, blank=True)
    later_at = models.DateTimeField(null=True, blank=True)
    later_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "push permission prompt"
        indexes = [
            models.Index(fields=["device", "-given_at"], name="campaigns_prompt_device_idx"),
            models.Index(
                fields=["device", "later_until"],
                condition=Q(later_until__isnull=False),
                name="campaigns_prompt_later_idx",
            ),
        ]

    def __str__(self):
        return f"permission prompt of {self.campaign_id} for device {self.device_id}"

    @property
    def answered(self):
        return bool(self.subscribed_at or self.blocked_at or self.later_at)
