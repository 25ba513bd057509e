"""The analytics tables in the admin: read-only (the job and the rebuild command write them)."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import AlertSent, Watermark


@admin.register(AlertSent)
class AlertSentAdmin(ReadOnlyAdmin):
    list_display = ["key", "rule", "created_at"]
    list_filter = ["rule"]
    search_fields = ["key"]
    show_full_result_count = False


@admin.register(Watermark)
class WatermarkAdmin(ReadOnlyAdmin):
    list_display = ["name", "last_event_id", "updated_at"]
