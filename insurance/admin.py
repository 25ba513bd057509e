"""The Django admin for reviewers: every document, request, reminder and activity, read-only.

Decisions are made on the desk (or through the API), where the services keep the record and the
reminders; here nothing can be added, changed or deleted by hand.
"""

from django.contrib import admin

from core.admin import AuditTrailInline, ReadOnlyAdmin, ReadOnlyInline

from .models import DocumentActivity, InfoRequest, InfoRequestItem, InsuranceDocument, Reminder


class ActivityInline(AuditTrailInline):
    model = DocumentActivity
    fields = ["created_at", "kind", "actor", "reason", "before", "after"]


class ReminderInline(ReadOnlyInline):
    model = Reminder
    fields = ["kind", "due_at", "state", "attempts", "last_error", "finished_at"]
    readonly_fields = fields


class ItemInline(ReadOnlyInline):
    model = InfoRequestItem
    fields = ["position", "needed", "instructions", "fulfilled_at", "fulfilled_by", "file_name"]
    readonly_fields = fields


@admin.register(InsuranceDocument)
class InsuranceDocumentAdmin(ReadOnlyAdmin):
    list_display = ["id", "owner", "insurer", "policy_number", "coverage_type", "coverage_end",
                    "status", "reviewer", "submitted_at"]  # fmt: skip
    list_filter = ["status", "coverage_type"]
    search_fields = ["policy_number", "insurer", "owner__email"]
    list_select_related = ["owner", "reviewer"]
    inlines = [ReminderInline, ActivityInline]


@admin.register(InfoRequest)
class InfoRequestAdmin(ReadOnlyAdmin):
    list_display = ["id", "document", "requested_by", "created_at", "fulfilled_at"]
    list_select_related = ["document", "requested_by"]
    inlines = [ItemInline]


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ["idempotency_key", "document", "kind", "due_at", "state", "attempts"]
    list_filter = ["kind", "state", "manual"]
    list_select_related = ["document"]


@admin.register(DocumentActivity)
class DocumentActivityAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "document", "kind", "actor", "reason"]
    list_filter = ["kind"]
    list_select_related = ["document", "actor"]
