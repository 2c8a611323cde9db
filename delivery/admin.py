from django.contrib import admin

from accounts.admin import AuditedAdmin
from delivery.models import (
    DeliverySettings,
    Dispatch,
    Heartbeat,
    InboxItem,
    Message,
    PrunedInboxTally,
    PrunedTally,
    VapidKey,
)


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["worker", "seen_at", "first_seen_at"]
    search_fields = ["worker"]
    date_hierarchy = "seen_at"
    readonly_fields = ["worker", "seen_at", "first_seen_at"]


@admin.register(VapidKey)
class VapidKeyAdmin(admin.ModelAdmin):
    list_display = ["public_key", "subject", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["public_key", "subject"]
    # The private key is a secret: never shown, and only made by `manage.py vapid_keys`.
    fields = ["public_key", "subject", "active", "created_at"]
    readonly_fields = ["public_key", "active", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(Dispatch)
class DispatchAdmin(admin.ModelAdmin):
    list_display = ["label", "channel", "status", "is_test", "created_at", "finished_at", "pruned_at"]
    list_filter = ["status", "channel", "is_test"]
    search_fields = ["label"]
    date_hierarchy = "created_at"


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "dispatch", "variant", "status", "code", "hold_reason", "not_before", "attempts", "sent_at"]
    list_filter = ["status", "hold_reason", "code"]
    raw_id_fields = ["dispatch", "profile", "device"]
    # Millions of rows: no COUNT(*) for the paginator, no date drill-down.
    show_full_result_count = False


@admin.register(PrunedTally)
class PrunedTallyAdmin(admin.ModelAdmin):
    """Read only: the counts of messages deleted after MESSAGE_RETENTION_DAYS are all that is
    left of them, and every page reads them (stats/actions/retention.py)."""

    list_display = [
        "dispatch",
        "variant",
        "version",
        "status",
        "code",
        "messages",
        "viewed",
        "clicked",
        "amplified",
        "closed",
    ]
    list_filter = ["status"]
    raw_id_fields = ["dispatch"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PrunedInboxTally)
class PrunedInboxTallyAdmin(PrunedTallyAdmin):
    """Read only, as ``PrunedTallyAdmin``: a pruned dispatch's App Inbox counts."""

    list_display = ["dispatch", "copies", "views", "boosted"]
    list_filter = []


@admin.register(DeliverySettings)
class DeliverySettingsAdmin(AuditedAdmin):
    # Credentials are write-only: edited on the Settings page, never shown here.
    exclude = ["fcm_service_account", "apns_private_key"]

    def has_add_permission(self, request):
        return not DeliverySettings.objects.exists()


@admin.register(InboxItem)
class InboxItemAdmin(admin.ModelAdmin):
    """App Inbox copies of pushes (delivery/actions/inbox.py). Staff may delete one (a
    person asked); nobody writes one by hand: its text is what the person was shown."""

    list_display = ["id", "profile", "dispatch", "variant", "created_at", "expires_at", "read_at", "deleted_at"]
    list_filter = ["variant"]
    raw_id_fields = ["dispatch", "profile"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
