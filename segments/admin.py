from django.contrib import admin

from accounts.admin import AuditedAdmin, ReadOnlyAdmin
from segments.actions.keys import revoke_api_key
from segments.models import (
    ApiKey,
    Device,
    Event,
    EventDay,
    EventRollup,
    Profile,
    ProfileImport,
    PropertyDefinition,
    Segment,
    Site,
)


class DeviceInline(admin.TabularInline):
    model = Device
    fk_name = "profile"
    extra = 0
    fields = ["platform", "browser", "push_status", "app_version", "os_version", "last_seen_at", "retired_at"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["identity", "name", "email", "country", "city", "is_test", "last_seen_at", "created_at"]
    list_filter = ["is_test", "gender", "email_unsubscribed", "sms_unsubscribed", "country"]
    search_fields = ["identity", "name", "email", "phone"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "updated_at", "last_seen_at"]
    inlines = [DeviceInline]
    list_per_page = 50
    show_full_result_count = False  # counting millions of profiles on every page is slow


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["profile", "platform", "browser", "push_status", "app_version", "os_version", "last_seen_at"]
    list_filter = ["platform", "browser", "push_status", ("retired_at", admin.EmptyFieldListFilter)]
    search_fields = ["profile__identity", "client_id", "token", "endpoint", "model"]
    raw_id_fields = ["profile"]
    list_select_related = ["profile"]
    readonly_fields = ["created_at", "last_seen_at"]
    show_full_result_count = False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["name", "profile", "occurred_at", "received_at"]
    list_filter = ["name"]
    search_fields = ["name", "profile__identity"]
    date_hierarchy = "occurred_at"
    raw_id_fields = ["profile"]
    list_select_related = ["profile"]
    show_full_result_count = False


@admin.register(EventDay)
class EventDayAdmin(ReadOnlyAdmin):
    """The events roll-up (segments/actions/rollup.py): derived from the events, kept by the roll-up task."""

    list_display = ["name", "profile", "day", "count"]
    list_filter = ["name"]
    raw_id_fields = ["profile"]
    show_full_result_count = False


@admin.register(EventRollup)
class EventRollupAdmin(ReadOnlyAdmin):
    list_display = ["rolled_through", "rolled_at"]


@admin.register(PropertyDefinition)
class PropertyDefinitionAdmin(admin.ModelAdmin):
    list_display = ["name", "scope", "event_name", "type", "first_seen_at", "last_seen_at"]
    list_filter = ["scope", "type"]
    search_fields = ["name", "event_name"]


@admin.register(ApiKey)
class ApiKeyAdmin(AuditedAdmin):
    list_display = ["name", "display_prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", "rate_per_minute", *readonly_fields]
    actions = ["revoke"]

    @admin.display(description="key")
    def display_prefix(self, key):
        return f"clk_{key.prefix}_…"

    def save_model(self, request, obj, form, change):
        if not change:
            full_key = obj.issue()
            obj.created_by = request.user
            self.message_user(request, f"Copy this key now; it is not shown again: {full_key}")
        super().save_model(request, obj, form, change)

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        keys = list(queryset.filter(revoked_at__isnull=True))
        for key in keys:
            revoke_api_key(key, user=request.user)  # the one place a key is revoked, and recorded
        self.message_user(request, f"Revoked {len(keys)} key(s).")


@admin.register(Site)
class SiteAdmin(AuditedAdmin):
    list_display = ["name", "key", "verify_identity", "created_at"]
    list_filter = ["verify_identity"]
    exclude = ["identity_secret"]  # shown to Admins on the Settings page, not copied around the admin
    search_fields = ["name", "key"]
    # Turned off on the Settings page only, where the warning says what that allows.
    readonly_fields = ["key", "verify_identity", "created_at"]


@admin.register(ProfileImport)
class ProfileImportAdmin(admin.ModelAdmin):
    list_display = ["original_name", "status", "processed_rows", "total_rows", "created_by", "created_at"]
    list_filter = ["status"]
    search_fields = ["original_name"]
    readonly_fields = [f.name for f in ProfileImport._meta.fields]


@admin.register(Segment)
class SegmentAdmin(AuditedAdmin):
    list_display = ["name", "owner", "is_adhoc", "last_reach", "last_computed_at", "updated_at"]
    list_filter = ["is_adhoc"]
    search_fields = ["name", "description"]
    readonly_fields = ["last_reach", "last_reachable", "last_computed_at", "created_at", "updated_at"]
