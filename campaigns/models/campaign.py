from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.urls import reverse


class Label(models.Model):
    """A tag marketers put on campaigns to find and group them (Setup step)."""

    name = models.CharField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Campaign(models.Model):
    """One campaign as the wizard builds it: channel and type, then Who, When, What, Setup.

    Every step's fields live on this row (and its variants) so a draft is saved on every
    step and a reload finds the marketer where they were. Scheduling computes firings
    from the When fields (issue 7); a run snapshots the content (issue 6)."""

    class Channel(models.TextChoices):
        WEB_PUSH = "web_push", "Web Push"
        MOBILE_PUSH = "mobile_push", "Mobile Push"
        EXIT_INTENT = "exit_intent", "Web Exit Intent"
        # Soft onboarding (seed 002): a banner asking for push permission, campaigns/onboarding.py.
        PERMISSION_REQUEST = "permission_request", "Push permission request"

    # Shown on a page by the web SDK, not pushed: published live, with no trigger event and no DND.
    ON_PAGE_CHANNELS = frozenset({Channel.EXIT_INTENT, Channel.PERMISSION_REQUEST})

    class Kind(models.TextChoices):
        # Past behaviour: the audience is evaluated when a run starts.
        ONE_TIME = "one_time", "One time"
        MULTIPLE_DATES = "multiple_dates", "Multiple dates"
        RECURRING = "recurring", "Recurring"
        # Live: evaluated per profile as events arrive.
        SINGLE_ACTION = "single_action", "Single action"
        INACTION = "inaction", "Inaction within time"
        DATE_PROPERTY = "date_property", "On a date property"
        # Sent when a backend asks: POST /api/v1/campaigns/<id>/send (campaigns/api.py).
        API_TRIGGERED = "api_triggered", "API triggered"

    # Live kinds are published, not scheduled, and sent one batch at a time through
    # campaigns/live/sending.py; an API-triggered campaign is one, with its batches
    # requested by the API instead of triggered by events.
    LIVE_KINDS = frozenset({Kind.SINGLE_ACTION, Kind.INACTION, Kind.DATE_PROPERTY, Kind.API_TRIGGERED})

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        STOPPED = "stopped", "Stopped"

    class Step(models.TextChoices):
        START = "start", "Start"
        WHO = "who", "Who"
        WHEN = "when", "When"
        WHAT = "what", "What"
        SETUP = "setup", "Setup"
        OVERVIEW = "overview", "Overview"

    class TargetDevices(models.TextChoices):
        # Seed 002 "Target Devices": which of a person's devices a push reaches. Empty on
        # the row means the channel's own kind (campaigns/targeting.py decides).
        WEB = "web", "Web"
        APPS = "apps", "Native apps"
        ALL = "all", "All: web and native apps"

    class ReachMode(models.TextChoices):
        ALL = "all", "Send to everyone who qualifies"
        CAP = "cap", "Send to a random number of them"

    class Repeat(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"
        MONTHLY = "monthly", "Monthly"

    class DatePropertyType(models.TextChoices):
        # Read by campaigns/live/triggers.py event_date: both are ISO 8601 text.
        DATE = "date", "A date, e.g. 2026-12-24 (its time, if any, is ignored)"
        DATETIME = "datetime", "A date and time, e.g. 2026-12-24T09:30 (a date alone means midnight)"

    class DndAction(models.TextChoices):
        DISCARD = "discard", "Discard"
        DELAY = "delay", "Delay until DND ends"

    class MessageType(models.TextChoices):
        SINGLE = "single", "Single message"
        AB = "ab", "A/B test"
        BY_PROPERTY = "by_property", "One message per user property value"

    class AbMode(models.TextChoices):
        PERCENT = "percent", "Percentage of the reach"
        COUNT = "count", "Number of users"

    class GoalAfter(models.TextChoices):
        SENT = "sent", "after the message is sent"
        CLICKED = "clicked", "after the message is clicked"

    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    kind = models.CharField("type", max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    labels = models.ManyToManyField(Label, blank=True, related_name="campaigns")
    # Wizard steps whose form validated, so Overview can say what is still missing.
    steps_done = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    scheduled_at = models.DateTimeField(null=True, blank=True, help_text="When it was scheduled or published.")
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # The schedule row the dispatcher claims (DESIGN.md "How a scheduled run flows"): the
    # next planned firing of a scheduled one-time, multi-date or recurring campaign, null
    # when there is none.
    next_run_at = models.DateTimeField(null=True, blank=True)

    # Who
    segment = models.ForeignKey(
        "segments.Segment", null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    platforms = models.JSONField(default=list, blank=True, help_text='Native apps: ["android", "ios"].')
    target_devices = models.CharField(
        max_length=4,
        choices=TargetDevices.choices,
        blank=True,
        help_text="Push: web, native app or all devices; empty: the channel's own (campaigns/targeting.py).",
    )
    # Web Exit Intent: the websites (Settings → Websites) whose pages may show its pop-up; a
    # page's SDK names its site by key (campaigns/popups.py).
    sites = models.ManyToManyField(
        "segments.Site", blank=True, related_name="popup_campaigns", help_text="Web Exit Intent: where it shows."
    )
    exit_trigger = models.JSONField(
        default=dict, blank=True, help_text="Web Exit Intent targeting: single action, page visit, referral, count."
    )
    reach_mode = models.CharField(max_length=4, choices=ReachMode.choices, default=ReachMode.ALL)
    target_cap = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Scheduled: send to a random this many of those who qualify. Live: at most this many sends in all.",
    )
    run_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Most profiles per run.")
    daily_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Most profiles per day.")
    safety_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Do not run if more than this qualify; alert the owner."
    )

    # When (times are stored in UTC; the wizard shows them in ``timezone``)
    timezone = models.CharField(max_length=64, default="UTC")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    send_at = models.DateTimeField(null=True, blank=True, help_text="One time: when.")
    send_now = models.BooleanField(default=False, help_text="One time: at the moment it is scheduled (no send_at).")
    dates = models.JSONField(default=list, blank=True, help_text="Multiple dates: each send time, in UTC.")
    repeat = models.CharField(max_length=8, choices=Repeat.choices, blank=True)
    repeat_every = models.PositiveSmallIntegerField(default=1)
    weekdays = models.JSONField(default=list, blank=True, help_text="Weekly: 0 = Monday … 6 = Sunday.")
    month_day = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Monthly: 1 to 31.")
    send_time = models.TimeField(null=True, blank=True, help_text="Recurring: local time of day.")
    trigger_event = models.CharField(max_length=200, blank=True, help_text="Live: the event that starts it.")
    trigger_filters = models.JSONField(default=list, blank=True)
    inaction_event = models.CharField(max_length=200, blank=True, help_text="Inaction: the event that cancels it.")
    inaction_minutes = models.PositiveIntegerField(null=True, blank=True)
    date_property = models.CharField(max_length=200, blank=True, help_text="Date property of the trigger event.")
    date_property_type = models.CharField(
        max_length=8,
        choices=DatePropertyType.choices,
        default=DatePropertyType.DATETIME,
        help_text="What the date property holds, declared in the When step (it may not have arrived yet).",
    )
    date_offset_minutes = models.IntegerField(default=0, help_text="Negative: before the date; positive: after.")
    user_timezone = models.BooleanField(default=False, help_text="Deliver at this time in each user's time zone.")
    # Best time (seed 001, beside the user's time zone): delivery/actions/besttime.py.
    best_time = models.BooleanField(
        default=False, help_text="Send each person at their most engaged hour of the day, within 24 hours."
    )
    best_time_fallback_hour = models.PositiveSmallIntegerField(
        default=10,
        validators=[MaxValueValidator(23)],
        help_text="Best time: the local hour for people with too little history (0 to 23).",
    )
    dnd_enabled = models.BooleanField("DND hours", default=False)
    dnd_start = models.TimeField(null=True, blank=True)
    dnd_end = models.TimeField(null=True, blank=True)
    dnd_action = models.CharField(max_length=8, choices=DndAction.choices, default=DndAction.DELAY)
    cutoff_time = models.TimeField(null=True, blank=True, help_text="Stop delivering after this local time.")
    skip_global_limits = models.BooleanField("don't apply global campaign limits", default=False)

    # What (content is on the variants)
    message_type = models.CharField(max_length=12, choices=MessageType.choices, default=MessageType.SINGLE)
    ab_mode = models.CharField(max_length=8, choices=AbMode.choices, default=AbMode.PERCENT)
    ab_test_size = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Scheduled: the A/B test's share (percent or people). Live: the sends before a winner is picked.",
    )
    ab_test_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Minutes to wait before picking a winner."
    )
    property_name = models.CharField(max_length=200, blank=True, help_text="One message per value of this property.")

    # Setup
    control_group_percent = models.PositiveSmallIntegerField(default=0)
    goal_event = models.CharField(max_length=200, blank=True)
    goal_filters = models.JSONField(default=list, blank=True)
    goal_window_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="How long after the message a goal event counts as a conversion."
    )
    goal_after = models.CharField(max_length=8, choices=GoalAfter.choices, default=GoalAfter.SENT)
    revenue_property = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["status", "-updated_at"]),
            models.Index(fields=["channel", "-updated_at"]),
            models.Index(
                fields=["next_run_at"], condition=models.Q(next_run_at__isnull=False), name="campaigns_due_idx"
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        # Lets a lower app link to a campaign (a segment's "Used by") without importing this one.
        return reverse("campaigns:detail", args=[self.pk])

    @property
    def is_live(self):
        return self.kind in self.LIVE_KINDS

    @property
    def is_draft(self):
        return self.status == self.Status.DRAFT


class Variant(models.Model):
    """One message of a campaign: the only one, an A/B variant, or the one for a property value.

    ``content`` holds the What step's fields for the campaign's channel; its keys are
    documented in ``delivery/content.py``, which renders and sizes it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    position = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(max_length=40, default="A")
    property_value = models.CharField(max_length=200, blank=True, help_text="By property: the value it is for.")
    is_fallback = models.BooleanField(default=False, help_text="By property: for every other value.")
    share = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Split delivery: percent.")
    content = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["campaign", "position"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "position"], name="campaigns_variant_position_uniq"),
        ]

    def __str__(self):
        return f"{self.campaign} / {self.name}"
