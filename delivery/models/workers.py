from django.db import models

from accounts.encryption import EncryptedTextField


class Heartbeat(models.Model):
    """The last time each Celery worker ran the beat-scheduled heartbeat task.

    A fresh row proves the whole chain works: beat scheduled the task, the broker
    carried it, a worker ran it and reached the database. Settings shows these.
    """

    worker = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()
    first_seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-seen_at"]
        verbose_name = "worker heartbeat"

    def __str__(self):
        return self.worker


class VapidKey(models.Model):
    """The application server's key pair for Web Push (VAPID, RFC 8292).

    Browsers bind each subscription to the public key it was made with, so there is
    one active pair: replacing it means every existing web subscriber must subscribe
    again. The private key never leaves this table (not in logs, not in pages), and the
    table holds it encrypted (``accounts/encryption.py``)."""

    public_key = models.CharField(
        max_length=100, help_text="The public key browsers subscribe with (the SDK gives it to them)."
    )
    private_key = EncryptedTextField(help_text="The private key that signs each push; stored encrypted, never shown.")
    subject = models.CharField(
        max_length=200, help_text="A mailto: or https: address the push services can contact about your pushes."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "VAPID key"
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=models.Q(active=True), name="one_active_vapid")
        ]

    def __str__(self):
        return f"{self.public_key[:16]}… ({'active' if self.active else 'retired'})"
