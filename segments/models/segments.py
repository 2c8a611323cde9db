from django.conf import settings
from django.db import models


class Segment(models.Model):
    """Who a campaign reaches: a rule tree (segments/rules/tree.py) stored as JSON.

    Saved segments have a name and are listed; ad-hoc ones are built inside a
    campaign's Who step and belong to it (hidden from the list)."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    rules = models.JSONField(default=dict)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    is_adhoc = models.BooleanField("ad hoc", default=False, help_text="Built inside a campaign, not listed.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The latest estimate, kept so lists show reach without recounting every segment.
    last_reach = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many profiles qualified when it was last counted."
    )
    last_reachable = models.JSONField(
        default=dict, blank=True, help_text="How many of them push could reach then, per channel."
    )
    last_computed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["is_adhoc", "name"])]

    def __str__(self):
        return self.name
