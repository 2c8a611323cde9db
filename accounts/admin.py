# Users and groups are in Django's own admin (django.contrib.auth). Capability has
# no table: its permissions are granted through the groups, not edited as rows.
from django.contrib import admin
from django.db import router, transaction

from accounts import audit
from accounts.models import AuditEntry


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that record what happened (the audit log, content versions): nobody adds,
    changes or deletes them in the admin, superusers included."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose saves and deletes go in the audit log like the dashboard's, for
    the models the log covers (campaigns, segments, API keys, sites, delivery settings).
    The admin's add, change and delete views already run in one transaction each."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            audit.record(request.user, audit.Verb.CREATED, obj, "in the admin")
        elif form.changed_data:
            detail = f"{audit.fields_changed(form.changed_data)} in the admin"
            audit.record(request.user, audit.Verb.CHANGED, obj, detail)

    def delete_model(self, request, obj):
        audit.record(request.user, audit.Verb.DELETED, obj, "in the admin")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        # The "delete selected" action is not wrapped in a transaction by the admin.
        with transaction.atomic(using=router.db_for_write(self.model)):
            for obj in queryset:
                audit.record(request.user, audit.Verb.DELETED, obj, "in the admin")
            super().delete_queryset(request, queryset)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log, read-only for everyone, superusers too: an entry that could be
    edited or deleted would prove nothing."""

    list_display = ["created_at", "who", "verb", "content_type", "object_label", "detail"]
    list_filter = ["verb", "content_type", "created_at"]
    search_fields = ["actor_name", "object_label", "detail"]
    date_hierarchy = "created_at"
    list_select_related = ["content_type"]
