from django.contrib import admin

from accounts.admin import AuditedAdmin, ReadOnlyAdmin
from campaigns.models import (
    Campaign,
    CampaignRun,
    ContentVersion,
    ControlMember,
    IdempotencyKey,
    Label,
    LiveTrigger,
    PermissionPrompt,
    PushResource,
    RunForecast,
    TestSend,
    Variant,
)


class VariantInline(admin.StackedInline):
    model = Variant
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(AuditedAdmin):
    list_display = ["name", "channel", "kind", "status", "owner", "updated_at"]
    list_filter = ["status", "channel", "kind", "labels"]
    search_fields = ["name"]
    raw_id_fields = ["segment", "owner"]
    inlines = [VariantInline]


@admin.register(CampaignRun)
class CampaignRunAdmin(admin.ModelAdmin):
    list_display = ["campaign", "planned_at", "status", "qualified", "started_at", "finished_at"]
    list_filter = ["status"]
    raw_id_fields = ["campaign", "dispatch"]
    date_hierarchy = "planned_at"


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(TestSend)
class TestSendAdmin(admin.ModelAdmin):
    list_display = ["campaign", "status", "requested_by", "created_at"]
    raw_id_fields = ["campaign", "variant", "profiles", "dispatch"]


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ["campaign", "position", "name", "property_value", "is_fallback", "share"]
    raw_id_fields = ["campaign"]
    search_fields = ["campaign__name", "name"]


@admin.register(ControlMember)
class ControlMemberAdmin(admin.ModelAdmin):
    list_display = ["run", "profile"]
    raw_id_fields = ["run", "profile"]


@admin.register(LiveTrigger)
class LiveTriggerAdmin(admin.ModelAdmin):
    list_display = ["campaign", "profile", "status", "due_at", "decided_at", "reason"]
    list_filter = ["status"]
    raw_id_fields = ["campaign", "event", "profile", "run"]
    date_hierarchy = "created_at"


@admin.register(PermissionPrompt)
class PermissionPromptAdmin(ReadOnlyAdmin):
    """Read-only: each row is what a browser was asked and answered; the campaign's counts
    (campaigns/counts.py prompt_counts) read them."""

    list_display = ["campaign", "device", "given_at", "shown_at", "subscribed_at", "blocked_at", "later_until"]
    raw_id_fields = ["campaign", "device"]
    date_hierarchy = "given_at"


@admin.register(ContentVersion)
class ContentVersionAdmin(ReadOnlyAdmin):
    """Read-only: a version is what messages were rendered with, so changing one would
    make stats describe texts nobody received. Campaigns change through the wizard."""

    list_display = ["campaign", "number", "created_at", "created_by", "note"]
    raw_id_fields = ["campaign"]
    search_fields = ["campaign__name"]
    date_hierarchy = "created_at"


@admin.register(RunForecast)
class RunForecastAdmin(ReadOnlyAdmin):
    """Read-only: what the forecast said before a run, kept so its page can show it beside
    what happened; an edited forecast would no longer be the one made."""

    list_display = ["campaign", "planned_at", "made_at"]
    raw_id_fields = ["campaign"]
    search_fields = ["campaign__name"]


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    """Read-only: the first answer to an API send request, replayed for a repeat of its
    Idempotency-Key for 30 days; editing one would make a replay answer what was not sent."""

    list_display = ["key", "campaign", "api_key", "created_at"]
    raw_id_fields = ["campaign", "api_key"]
    search_fields = ["key", "campaign__name"]


@admin.register(PushResource)
class PushResourceAdmin(ReadOnlyAdmin):
    """Read-only: resources are made and edited on their page (campaigns/views/resources.py),
    which validates the content with the What step's form and records the change."""

    list_display = ["name", "channel", "updated_at", "created_by"]
    list_filter = ["channel"]
    search_fields = ["name"]
