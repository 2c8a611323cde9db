"""The people Clarion knows: profiles, their devices, and what they do."""

from django.db import models
from django.db.models import Q

from segments.rules.dates import age_on


class Profile(models.Model):
    class Gender(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"

    identity = models.CharField(max_length=255, unique=True, help_text="Your own id for this person.")
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=32, blank=True, help_text="E.164, e.g. +14155550100.")
    properties = models.JSONField(default=dict, blank=True, help_text="Custom properties, e.g. customer_type.")
    # Either is enough for "age between"; a date of birth wins when both are known.
    date_of_birth = models.DateField(null=True, blank=True)
    age = models.PositiveSmallIntegerField(null=True, blank=True)
    gender = models.CharField(max_length=10, choices=Gender.choices, blank=True)
    country = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=100, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    timezone = models.CharField(max_length=64, blank=True, help_text="IANA name, e.g. Europe/Paris.")
    language = models.CharField(max_length=35, blank=True, help_text="BCP 47 tag, e.g. en or pt-BR.")
    email_unsubscribed = models.BooleanField(default=False)
    sms_unsubscribed = models.BooleanField(default=False)
    is_test = models.BooleanField("test profile", default=False, help_text="Receives test sends from the wizard.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["country", "region", "city"]),
            models.Index(fields=["last_seen_at"]),
            models.Index(fields=["is_test"], condition=Q(is_test=True), name="segments_profile_test_idx"),
        ]

    def __str__(self):
        return self.name or self.identity

    def age_on(self, today):
        """Age on ``today``: from the date of birth when known (it wins, as in the age
        condition), else the age as given."""
        return age_on(self.date_of_birth, today) if self.date_of_birth else self.age


class Device(models.Model):
    """One app install or one browser, with what it takes to reach it by push."""

    class Platform(models.TextChoices):
        WEB = "web", "Web"
        ANDROID = "android", "Android"
        IOS = "ios", "iOS"

    class Browser(models.TextChoices):
        CHROME = "chrome", "Chrome"
        FIREFOX = "firefox", "Firefox"
        SAFARI = "safari", "Safari"
        EDGE = "edge", "Edge"
        OPERA = "opera", "Opera"
        KAIOS = "kaios", "KaiOS"

    class PushStatus(models.TextChoices):
        ASK = "ask", "Ask"
        ALLOWED = "allowed", "Allowed"
        BLOCKED = "blocked", "Blocked"
        UNSUPPORTED = "unsupported", "Browser not supported"
        SUSPENDED = "suspended", "Suspended"

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="devices")
    platform = models.CharField(max_length=10, choices=Platform.choices)
    browser = models.CharField(max_length=10, choices=Browser.choices, blank=True)
    # The SDK's id for this browser (kept in its storage) or the app's install id.
    client_id = models.CharField(max_length=64, blank=True)
    # Web Push (RFC 8030 subscription; keys per RFC 8291).
    endpoint = models.URLField(max_length=1024, blank=True)
    p256dh = models.CharField("p256dh key", max_length=128, blank=True)
    auth = models.CharField("auth secret", max_length=64, blank=True)
    # FCM registration token or APNs device token.
    token = models.CharField(max_length=512, blank=True)
    push_status = models.CharField(max_length=12, choices=PushStatus.choices, default=PushStatus.ASK)
    categories = models.JSONField(default=list, blank=True, help_text="Push categories the person chose.")
    app_version = models.CharField(max_length=50, blank=True)
    make = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=100, blank=True)
    os_version = models.CharField(max_length=50, blank=True)
    sdk_version = models.CharField(max_length=50, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True, help_text="Set when the token was unregistered.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint"], condition=~Q(endpoint=""), name="segments_device_endpoint_uniq"
            ),
            models.UniqueConstraint(
                fields=["platform", "token"], condition=~Q(token=""), name="segments_device_token_uniq"
            ),
            models.UniqueConstraint(
                fields=["client_id"], condition=~Q(client_id=""), name="segments_device_client_uniq"
            ),
        ]
        indexes = [
            models.Index(fields=["platform", "push_status"]),
            # Reach per channel joins each profile to its reachable devices
            # (segments/actions/reach.py): with this partial index that join reads the
            # index alone, in profile order. The condition is Device.reachable, written
            # exactly as the join writes it ("> ''" for "not empty"), or PostgreSQL
            # cannot tell the index applies.
            models.Index(
                fields=["profile", "platform"],
                condition=(
                    (Q(platform="web", endpoint__gt="") | Q(platform__in=["android", "ios"], token__gt=""))
                    & Q(push_status="allowed", retired_at__isnull=True)
                ),
                name="segments_device_reachable_idx",
            ),
            # "OS version is …" on any device: the profiles, from the index alone.
            models.Index(fields=["os_version", "profile"], name="segments_device_os_idx"),
            # "App version starts with 4.5": a range of this index (LIKE '4.5%' needs
            # the pattern operator class outside the C collation). The compiler asks
            # LIKE, not UPPER(…) LIKE, for a prefix without letters (rules/compiler.py).
            # SQLite ignores operator classes and keeps a plain index.
            models.Index(
                fields=["app_version", "profile"],
                opclasses=["text_pattern_ops", "int8_ops"],
                name="segments_device_app_prefix_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_platform_display()} {self.get_browser_display() or self.model}".strip()

    @property
    def reachable(self):
        """Allowed, not retired, and with a subscription or token to send to."""
        address = self.endpoint if self.platform == self.Platform.WEB else self.token
        return self.push_status == self.PushStatus.ALLOWED and not self.retired_at and bool(address)


class Event(models.Model):
    # No index of its own: the indexes below that start with the profile serve it.
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="events", db_index=False)
    name = models.CharField(max_length=200)
    properties = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # "did event X in the last N days": by name and time, then the profile.
            models.Index(fields=["name", "occurred_at", "profile"], name="segments_event_name_time_idx"),
            # A profile's own history, newest first.
            models.Index(fields=["profile", "-occurred_at"], name="segments_event_profile_idx"),
            # "did X at least N times": one person's count of X, from the index alone.
            models.Index(fields=["profile", "name", "occurred_at"], name="segments_event_count_idx"),
        ]

    def __str__(self):
        return f"{self.name} at {self.occurred_at:%Y-%m-%d %H:%M}"


class PropertyDefinition(models.Model):
    """A property name Clarion has seen and its type, for the segment builder's
    autocomplete and for operators offered by type."""

    class Scope(models.TextChoices):
        PROFILE = "profile", "Profile property"
        EVENT = "event", "Event property"

    class Type(models.TextChoices):
        STRING = "string", "Text"
        NUMBER = "number", "Number"
        BOOLEAN = "boolean", "Yes / no"
        DATE = "date", "Date"
        LIST = "list", "List"

    scope = models.CharField(max_length=10, choices=Scope.choices)
    event_name = models.CharField(max_length=200, blank=True, help_text="For event properties: the event.")
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=10, choices=Type.choices)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "event_name", "name"], name="segments_property_uniq"),
        ]
        ordering = ["scope", "event_name", "name"]

    def __str__(self):
        prefix = f"{self.event_name}." if self.event_name else ""
        return f"{prefix}{self.name} ({self.type})"
