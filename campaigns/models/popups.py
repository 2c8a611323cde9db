from django.db import models


class PopupShow(models.Model):
    """A Web Exit Intent pop-up given to a person's browser (campaigns/popups.py).

    Unique per campaign, profile and day (UTC), so a person gets each campaign's
    pop-up at most once a day however many pages they open."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="popup_shows")
    profile = models.ForeignKey("segments.Profile", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    variant = models.CharField(max_length=40, blank=True)
    shown_at = models.DateTimeField()

    class Meta:
        verbose_name = "pop-up shown"
        verbose_name_plural = "pop-ups shown"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "profile", "day"], name="campaigns_popup_once_a_day"),
        ]

    def __str__(self):
        return f"pop-up of {self.campaign_id} for {self.profile_id} on {self.day}"
