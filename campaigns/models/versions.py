from django.conf import settings
from django.db import models
from django.db.models import Max


class ContentVersion(models.Model):
    """One version of a campaign's messages, kept when its What is changed after it was
    scheduled (``campaigns/actions/changes.py``): the first is what it had before its first
    change, each later one what a change made.

    ``contents`` maps each variant key to its content, as a ``Dispatch`` freezes them;
    every sent message records the number it was rendered with (``delivery.Message.version``),
    so stats can show each version's numbers and the totals stay one campaign's. A campaign
    never changed after scheduling has no rows here: all its messages are version 1."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    contents = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=300, blank=True, help_text="What the change did to queued messages.")

    class Meta:
        ordering = ["campaign", "number"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "number"], name="campaigns_content_version_once"),
        ]

    def __str__(self):
        return f"{self.campaign} / version {self.number}"


def current_version(campaign):
    """The number of the version its variants hold now: 1 until its What is first changed."""
    return campaign.versions.aggregate(number=Max("number"))["number"] or 1
