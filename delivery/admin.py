from django.contrib import admin

from delivery.models import Heartbeat, VapidKey


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
