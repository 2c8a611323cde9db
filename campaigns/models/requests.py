from django.db import models

from campaigns.models.campaign import Campaign


class IdempotencyKey(models.Model):
    """The answer to an API send request (``POST /api/v1/campaigns/<id>/send``) that came
    with an ``Idempotency-Key`` header, kept for ``KEPT_DAYS`` so that a retry with the same
    key (a timeout, a crashed client) gets the same answer and sends nothing more.

    Unique per API key and idempotency key: two identical requests at once both insert
    this row first, and the database makes the second wait for the first's transaction,
    then fail, then read the stored answer (campaigns/api.py). ``fingerprint`` is the
    SHA-256 of the request (campaign and body): the same key with another request is
    refused rather than answered with an unrelated send's result."""

    KEPT_DAYS = 30

    api_key = models.ForeignKey("segments.ApiKey", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    response = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="campaigns_idempotency_key_uniq"),
        ]

    def __str__(self):
        return f"{self.key} ({self.created_at:%Y-%m-%d})"
