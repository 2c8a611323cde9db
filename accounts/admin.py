# Users and groups are in Django's own admin (django.contrib.auth). Capability has
# no table: its permissions are granted through the groups, not edited as rows.
from django.contrib import admin

from accounts.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log, read-only for everyone, superusers too: an entry that could be
    edited or deleted would prove nothing."""

    list_display = ["created_at", "who", "verb", "content_type", "object_label", "detail"]
    list_filter = ["verb", "content_type", "created_at"]
    search_fields = ["actor_name", "object_label", "detail"]
    date_hierarchy = "created_at"
    list_select_related = ["content_type"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
