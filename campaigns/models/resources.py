from django.conf import settings
from django.db import models


class PushResource(models.Model):
    """A saved, named push content (issue 13, "push resources"): a marketer picks it in the
    What step, which copies its ``content`` into a variant. The copy is the variant's own, so
    editing the resource later changes no campaign; ``content`` has the keys of a variant's
    content for ``channel`` (``delivery/content.py``), validated by the What step's form."""

    class Channel(models.TextChoices):
        WEB_PUSH = "web_push", "Web push"
        MOBILE_PUSH = "mobile_push", "Mobile push"

    name = models.CharField(max_length=100, unique=True)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    content = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "push resource"

    def __str__(self):
        return self.name
