from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone


class Capability(models.Model):
    """Holds the dashboard's permissions that belong to no single model.

    It has no table (``managed = False``); Django still creates its permissions, which
    the roles are granted (accounts/roles.py) and views check with
    ``@requires(...)``.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_campaigns", "Can read campaigns"),
            ("manage_campaigns", "Can create, edit and schedule campaigns"),
            ("manage_segments", "Can build segments and browse the audience"),
            ("view_stats", "Can read stats"),
            ("manage_settings", "Can change settings, users and credentials"),
        ]

    def __str__(self):
        return "capability"


class AuditEntry(models.Model):
    """Who changed what, and when: one row per change to a campaign, segment, API key,
    site, credentials or a user's role. Written by ``accounts.audit.record`` inside the
    change's own transaction, so a change and its entry are kept or lost together.

    The actor's name and the object's label are copied, so an entry still reads right
    after the user or the object is deleted. A null actor is Clarion itself (a task
    completing a campaign) or a caller named by ``actor_name`` alone (an API key).
    ``detail`` names what changed (fields, statuses), never a secret's value.
    """

    class Verb(models.TextChoices):
        CREATED = "created", "created"
        CHANGED = "changed", "changed"
        DELETED = "deleted", "deleted"
        SCHEDULED = "scheduled", "scheduled"
        PAUSED = "paused", "paused"
        RESUMED = "resumed", "resumed"
        STOPPED = "stopped", "stopped"
        UNSCHEDULED = "unscheduled", "unscheduled (back to draft)"
        COMPLETED = "completed", "completed"
        ARCHIVED = "archived", "archived"
        DUPLICATED = "duplicated", "duplicated"
        REVOKED = "revoked", "revoked"

    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True, help_text="Empty: Clarion itself.")
    verb = models.CharField(max_length=20, choices=Verb.choices)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    object_label = models.CharField(max_length=200)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "audit entries"
        # An object's page reads its latest entries: one index range, already in order.
        indexes = [models.Index(fields=["content_type", "object_id", "-created_at"], name="audit_object_newest")]

    def __str__(self):
        return f"{self.who} {self.verb} {self.object_label}"

    @property
    def who(self):
        return self.actor_name or "Clarion"
