from django.db import models

from accounts.encryption import EncryptedTextField


class DeliverySettings(models.Model):
    """The one row of global delivery settings (Settings page, Admin role): global
    campaign limits, the throttle, the default DND hours, push amplification, and the
    FCM / APNs credentials. Secrets are write-only: never rendered back, never logged,
    and stored encrypted (``accounts/encryption.py``).
    Read it with ``DeliverySettings.load()``."""

    class DndAction(models.TextChoices):
        DISCARD = "discard", "Discard"
        DELAY = "delay", "Delay until DND ends"

    # Global campaign limits: most messages one profile gets from all campaigns.
    daily_cap = models.PositiveIntegerField(null=True, blank=True, help_text="Per profile per day; empty = none.")
    weekly_cap = models.PositiveIntegerField(null=True, blank=True, help_text="Per profile per week; empty = none.")
    throttle_per_15_min = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most messages sent in any 15 minutes, all workers together."
    )
    dnd_start = models.TimeField(null=True, blank=True, help_text="Default DND hours for new campaigns.")
    dnd_end = models.TimeField(null=True, blank=True)
    dnd_action = models.CharField(max_length=8, choices=DndAction.choices, default=DndAction.DELAY)
    amplification = models.BooleanField(
        default=False,
        help_text="Send a web or app push once more if it was accepted but not reported displayed within an hour.",
    )
    fcm_project_id = models.CharField(max_length=200, blank=True)
    fcm_service_account = EncryptedTextField(blank=True, help_text="Service account JSON (write-only).")
    fcm_saved_at = models.DateTimeField(null=True, blank=True, help_text="When the service account was saved.")
    apns_team_id = models.CharField(max_length=20, blank=True)
    apns_key_id = models.CharField(max_length=20, blank=True)
    apns_private_key = EncryptedTextField(blank=True, help_text=".p8 key (write-only).")
    apns_topic = models.CharField(max_length=200, blank=True, help_text="The app's bundle id.")
    apns_sandbox = models.BooleanField(default=False, help_text="Use Apple's development host.")
    apns_saved_at = models.DateTimeField(null=True, blank=True, help_text="When the .p8 key was saved.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "delivery settings"
        verbose_name_plural = "delivery settings"

    def __str__(self):
        return "Delivery settings"

    @classmethod
    def load(cls):
        return cls.objects.get_or_create(pk=1)[0]
