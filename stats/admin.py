from django.contrib import admin

from stats.models import ControlConversion, Conversion, DailyStat, ErrorStat, RollUp


@admin.register(DailyStat)
class DailyStatAdmin(admin.ModelAdmin):
    list_display = ["campaign", "run", "variant", "day", "sent", "delivered", "viewed", "clicked", "conversions"]
    list_filter = ["day"]
    raw_id_fields = ["campaign", "run", "dispatch"]


@admin.register(ErrorStat)
class ErrorStatAdmin(admin.ModelAdmin):
    list_display = ["campaign", "run", "variant", "status", "code", "count"]
    list_filter = ["status", "code"]
    raw_id_fields = ["campaign", "run", "dispatch"]


@admin.register(Conversion)
class ConversionAdmin(admin.ModelAdmin):
    list_display = ["campaign", "message", "variant", "occurred_at", "revenue"]
    raw_id_fields = ["campaign", "message", "dispatch", "event"]


@admin.register(ControlConversion)
class ControlConversionAdmin(admin.ModelAdmin):
    list_display = ["run", "profile", "occurred_at", "revenue"]
    raw_id_fields = ["run", "profile", "event"]


@admin.register(RollUp)
class RollUpAdmin(admin.ModelAdmin):
    list_display = ["dispatch", "campaign", "run", "changes", "rolled_changes", "rolled_at"]
    raw_id_fields = ["dispatch", "campaign", "run"]
