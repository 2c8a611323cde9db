from django.db import models


class InboxItem(models.Model):
    """A push's copy in its person's App Inbox (seed 001, "Optimizing delivery by sending to
    App Inbox"): one per person and dispatch, written from the dispatch's messages when it
    starts (``delivery.actions.inbox.do_copy_to_inbox``), for the variants whose content has
    an ``inbox`` section (``delivery/content.py``).

    It copies what it needs from its messages (variant, live context) and never points at
    one: messages are pruned after MESSAGE_RETENTION_DAYS, an item lives until
    ``expires_at`` (its TTL, at most 90 days), then the hourly sweep deletes it. Title,
    message and link are rendered with the person's profile the first time the item is listed
    (``title``/``body``, ``rendered_at``), as a push is at its send, and then kept.

    ``profile`` has no database constraint, like ``Message.profile``: the copy is one
    INSERT … SELECT over a run's messages; deleting a profile still deletes its items
    (on_delete=CASCADE runs in the ORM, through the ``(profile, created_at)`` index)."""

    dispatch = models.ForeignKey("delivery.Dispatch", on_delete=models.CASCADE, related_name="+", db_index=False)
    profile = models.ForeignKey(
        "segments.Profile", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    variant = models.CharField(max_length=40, blank=True)
    # The Liquid variables of the person's message beside ``profile`` (a live trigger's event, an API send's data).
    context = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    title = models.TextField(blank=True)
    body = models.TextField(blank=True)
    url = models.TextField(blank=True)  # the push's deep link, rendered as its text is
    rendered_at = models.DateTimeField(null=True, blank=True)
    # Why it could not be rendered for this person (a Liquid error, as the push records it): never listed.
    error = models.CharField(max_length=300, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Opened in the inbox before any of the person's devices reported the push displayed
    # (``delivery.inbox.counts``: the inbox's boost), decided when it is first read.
    before_push = models.BooleanField(default=False)

    class Meta:
        verbose_name = "App Inbox item"
        # The unique index also serves the counts of a dispatch's items (it begins with it).
        constraints = [
            models.UniqueConstraint(fields=["dispatch", "profile"], name="delivery_inbox_once_per_person"),
        ]
        indexes = [
            # A person's inbox, newest first; also what deleting a profile reads.
            models.Index(fields=["profile", "-created_at"], name="delivery_inbox_profile_idx"),
            models.Index(fields=["expires_at"], name="delivery_inbox_expiry_idx"),
        ]

    def __str__(self):
        return f"inbox item {self.pk} of profile {self.profile_id}"
