from django.db import models
from django.db.models import Q


class Dispatch(models.Model):
    """A batch of messages sent under one set of rules: a campaign run, a live campaign's
    sends, or a test send. campaigns points down at it (``CampaignRun.dispatch``); delivery
    never imports campaigns.

    ``contents`` maps a variant key to that variant's content (keys documented in
    ``delivery/content.py``), frozen when the dispatch is made: a draft's later edits do
    not reach it, and a confirmed change of a running campaign's What replaces it as a
    new ``version`` (rows are rendered at send time, so the unsent ones take it).
    ``rules`` holds what the When step decided (DND, cut-off, time zone, global limits
    opt-out, TTL); its keys are documented where the pipeline reads them (``delivery/actions``)."""

    class Channel(models.TextChoices):
        WEB_PUSH = "web_push", "Web Push"
        MOBILE_PUSH = "mobile_push", "Mobile Push"
        # A pop-up given to a browser by the web SDK (campaigns/popups.py): its message is
        # written sent, never queued, so no provider sends it.
        EXIT_INTENT = "exit_intent", "Web Exit Intent"

    class Status(models.TextChoices):
        OPEN = "open", "Open"  # rows are still being written
        SENDING = "sending", "Sending"
        PAUSED = "paused", "Paused"
        STOPPED = "stopped", "Stopped"
        DONE = "done", "Done"

    channel = models.CharField(max_length=20, choices=Channel.choices)
    label = models.CharField(max_length=300, help_text="What this is, for people: the campaign and run.")
    contents = models.JSONField(default=dict)
    rules = models.JSONField(default=dict, blank=True)
    is_test = models.BooleanField(default=False)
    # The campaign's content version ``contents`` holds (campaigns.ContentVersion): a change
    # of a scheduled or running campaign's What replaces the contents of its unfinished
    # dispatches and this number, so rows not yet claimed go out with the new text.
    version = models.PositiveIntegerField(default=1, db_default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When its messages began to be deleted (MESSAGE_RETENTION_DAYS, stats/actions/retention.py):
    # from then on its counts are read from its ``PrunedTally`` rows, never from its messages.
    pruned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "dispatches"

    def __str__(self):
        return self.label


class Message(models.Model):
    """One message for one device in one dispatch (unique), claimed before its send and
    marked after it (DESIGN.md "at-least-once with collapse").

    ``profile`` and ``device`` are foreign keys without a database constraint
    (``db_constraint=False``): a run's start writes a million rows in one transaction, and
    PostgreSQL checked both constraints row by row at its commit (about half the start's
    time, bench/README.md "run.py"). Deleting a profile or a device still deletes its
    messages: every delete goes through the ORM, whose on_delete=CASCADE runs in Python
    (through the indexes on ``profile`` and ``device``). The trade-off: a DELETE written by
    hand in SQL, or a profile deleted while a run's start is writing its messages, can
    leave messages of a person who is gone; nothing in the database refuses them. The
    dispatch's foreign key stays a constraint (one dispatch row, cheap to check)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"  # claimed (claim_token) by a worker until claimed_until
        SENT = "sent", "Sent"  # accepted by the push service
        FAILED = "failed", "Failed"
        HELD = "held", "Held"  # waiting for not_before, for hold_reason
        DROPPED = "dropped", "Dropped"  # never sent on purpose (frequency cap, DND discard, cut-off, stop)

    class HoldReason(models.TextChoices):
        """Why a held row waits for its ``not_before`` (``delivery/holds.py`` explains them)."""

        THROTTLE = "throttle", "Throttle"  # the global throttle's interval was full
        DND = "dnd", "Do Not Disturb"  # the person's DND hours, set to delay
        USER_TIME_ZONE = "user_time_zone", "User's time zone"  # the planned wall time in their zone
        BEST_TIME = "best_time", "Best time"  # their most engaged hour (delivery/actions/besttime.py)
        RETRY = "retry", "Retry"  # the push service refused for now; ``code`` says how
        SCHEDULED = "scheduled", "Scheduled"  # enqueued to go at a given time

    # Bounded: a Liquid or Linked Content message can quote a lot; what fits tells the cause.
    DETAIL_LENGTH = 300

    # No index of its own: (dispatch, device) and (dispatch, status) both begin with it, and a
    # third copy of the column cost every new row an index entry (a run writes a million).
    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="messages", db_index=False)
    profile = models.ForeignKey(
        "segments.Profile", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    device = models.ForeignKey(
        "segments.Device", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    variant = models.CharField(max_length=40, blank=True)
    # Liquid variables of this message only, beside ``profile`` and ``linked``: a live
    # campaign's {"event": {trigger event's properties}} (``delivery/content.py``).
    context = models.JSONField(null=True, blank=True)
    # The dispatch's content version it was rendered with, set when it is sent (stats per
    # version). A database default: the enqueue's INSERT … unnest names its columns.
    version = models.PositiveIntegerField(default=1, db_default=1)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    code = models.CharField(
        max_length=40,
        blank=True,
        help_text="Why the push service refused it (e.g. token_invalid) or why it was not sent (e.g. frequency cap).",
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    payload_hash = models.CharField(max_length=64, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    # Both defaults: raw INSERTs (``do_enqueue``'s unnest, the benchmarks) need not name them.
    hold_reason = models.CharField(max_length=16, choices=HoldReason.choices, blank=True, default="", db_default="")
    # A failure's own words where its code alone cannot say it: the render error and where,
    # the Linked Content URL (without its query, which may hold a key) and what went wrong.
    error_detail = models.CharField(max_length=DETAIL_LENGTH, blank=True, default="", db_default="")
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Whose claim this is (``delivery/actions/claims.py``): a batch renews its lease and records
    # its outcomes only on rows that still carry its token.
    claim_token = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the push service accepted it; while it is ``sending``, when it took its person's
    # frequency-cap slot (``delivery/actions/limits.py``, ``cap_slots``): cleared if it is not sent.
    sent_at = models.DateTimeField(null=True, blank=True)
    # Reported by the service worker or the app (stats, issue 8; ``stats.actions.tracking``);
    # push amplification resends a web push accepted but not viewed within an hour. Rendered
    # (an impression: the device displayed it) is implied by a view, a view by a click.
    rendered_at = models.DateTimeField(null=True, blank=True)
    viewed_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    amplified_at = models.DateTimeField(null=True, blank=True)
    # A Web Exit Intent pop-up the visitor dismissed (close button, Escape, backdrop), reported
    # by the web SDK once (campaigns/popups.py); a closed pop-up was also viewed (shown).
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dispatch", "device"], name="delivery_message_once_per_device"),
        ]
        indexes = [
            models.Index(fields=["dispatch", "status"], name="delivery_message_status_idx"),
            # The sweep of claims that outlived their lease.
            models.Index(fields=["claimed_until"], condition=Q(status="sending"), name="delivery_message_claim_idx"),
            # Frequency caps: what a profile was sent lately. Not partial: it is also what
            # deleting a profile reads to delete its messages (on_delete=CASCADE; without an
            # index on profile_id that scans every message, per deleted profile).
            models.Index(fields=["profile", "sent_at"], name="delivery_message_profile_idx"),
            # The same for deleting a device (a profile's delete cascades to its devices, and
            # a device moved to another profile keeps its older messages).
            models.Index(fields=["device"], name="delivery_message_device_idx"),
            # Held rows coming due.
            models.Index(fields=["not_before"], condition=Q(status="held"), name="delivery_message_held_idx"),
        ]

    def __str__(self):
        return f"message {self.pk} ({self.status})"


class PrunedTally(models.Model):
    """What a pruned dispatch's messages added up to, kept when they were deleted: one row per
    variant, content version, status and code, in the transaction that set
    ``Dispatch.pruned_at``. The counts of ``delivery.counts`` (and the clicks per variant an
    A/B winner is picked by, and the sends per version) read these for a pruned dispatch and
    the messages for every other, so a page says the same before and after the prune."""

    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="+")
    variant = models.CharField(max_length=40, blank=True)
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=8, choices=Message.Status.choices)
    code = models.CharField(max_length=40, blank=True)
    messages = models.PositiveIntegerField(default=0)
    viewed = models.PositiveIntegerField(default=0)
    clicked = models.PositiveIntegerField(default=0)
    # Messages push amplification sent once more, pop-ups the visitor closed (``delivery.counts``).
    amplified = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "tally of pruned messages"
        verbose_name_plural = "tallies of pruned messages"
        constraints = [
            models.UniqueConstraint(
                fields=["dispatch", "variant", "version", "status", "code"], name="delivery_pruned_tally_once"
            ),
        ]

    def __str__(self):
        return f"{self.messages} {self.status} of dispatch {self.dispatch_id}"


class PrunedInboxTally(models.Model):
    """A pruned dispatch's App Inbox counts (``delivery.counts.inbox``), kept in the same
    transaction as its ``PrunedTally``: the sweep deletes the dispatch's inbox items once they
    expire, and items read after the prune no longer change its figures (as messages viewed
    after it cannot)."""

    dispatch = models.OneToOneField(Dispatch, on_delete=models.CASCADE, related_name="+")
    copies = models.PositiveIntegerField(default=0)
    views = models.PositiveIntegerField(default=0)
    boosted = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "tally of pruned inbox copies"
        verbose_name_plural = "tallies of pruned inbox copies"

    def __str__(self):
        return f"{self.copies} inbox copies of dispatch {self.dispatch_id}"
