from django.contrib import admin

from delivery.models import Heartbeat


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["worker", "seen_at", "first_seen_at"]
    search_fields = ["worker"]
    date_hierarchy = "seen_at"
    readonly_fields = ["worker", "seen_at", "first_seen_at"]
