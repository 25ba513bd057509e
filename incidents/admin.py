"""Django admin for incidents and components: every write goes through the services.

An incident's fields are edited here as on the API (audited, targets moved with the severity);
its status, timeline, components and tickets are shown read-only and moved through the API
(`/api/v1/incidents/`). Components are created and edited through the services too.
"""

from django.contrib import admin, messages

from core.admin import AuditTrailInline, ReadOnlyInline
from core.errors import DomainError

from . import services
from .models import (
    Component,
    ComponentEvent,
    Incident,
    IncidentComponent,
    IncidentEvent,
    IncidentTicket,
    IncidentUpdate,
    Maintenance,
)

INCIDENT_FIELDS = ["title", "description", "severity", "category", "impact", "affected_customers",
                   "is_public", "commander", "team", "reported_by"]  # fmt: skip
COMPONENT_FIELDS = ["name", "description", "group", "order"]


class UpdateInline(ReadOnlyInline):
    model = IncidentUpdate
    fields = ["created_at", "kind", "status", "is_public", "author", "body"]
    readonly_fields = fields


class AffectedInline(ReadOnlyInline):
    model = IncidentComponent
    fields = ["component", "state"]
    readonly_fields = fields


class TicketInline(ReadOnlyInline):
    model = IncidentTicket
    fields = ["ticket", "linked_at", "linked_by", "answered_at"]
    readonly_fields = fields


class IncidentEventInline(AuditTrailInline):
    model = IncidentEvent


class ComponentEventInline(AuditTrailInline):
    model = ComponentEvent


def _apply(request, write) -> bool:
    try:
        write()
    except DomainError as error:
        messages.error(request, error.message)
        return False
    return True


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "severity", "status", "impact", "commander", "detected_at",
                    "acknowledged_at", "resolved_at"]  # fmt: skip
    list_filter = ["status", "severity", "impact", "category", "is_public"]
    search_fields = ["number", "title"]
    list_select_related = ["commander"]
    fields = [*INCIDENT_FIELDS, "status", "detected_at", "acknowledged_at", "resolved_at",
              "response_due_at", "resolution_due_at", "response_breached_at",
              "resolution_breached_at"]  # fmt: skip
    readonly_fields = ["status", "detected_at", "acknowledged_at", "resolved_at",
                       "response_due_at", "resolution_due_at", "response_breached_at",
                       "resolution_breached_at"]  # fmt: skip
    inlines = [AffectedInline, UpdateInline, TicketInline, IncidentEventInline]

    def has_add_permission(self, request):
        return False  # declared on the API (numbered, targets set, components placed)

    def has_delete_permission(self, request, obj=None):
        return False  # an incident is history: closing ends it

    def save_model(self, request, obj, form, change):
        values = {
            name: form.cleaned_data[name] for name in INCIDENT_FIELDS if name in form.changed_data
        }
        if values:
            _apply(
                request, lambda: services.update_incident(incident=obj, by=request.user, **values)
            )


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ["name", "group", "order", "state", "updated_at"]
    list_filter = ["group", "state"]
    search_fields = ["name"]
    fields = [*COMPONENT_FIELDS, "state"]
    readonly_fields = ["state"]
    inlines = [ComponentEventInline]

    def has_delete_permission(self, request, obj=None):
        return False  # incidents' history names it

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in COMPONENT_FIELDS}
        if change:
            _apply(request, lambda: services.update_component(component=obj, by=request.user,
                                                              **values))  # fmt: skip
        else:
            name = values.pop("name")

            def create():
                obj.pk = services.create_component(by=request.user, name=name, **values).pk

            _apply(request, create)


@admin.register(Maintenance)
class MaintenanceAdmin(admin.ModelAdmin):
    list_display = ["title", "starts_at", "ends_at", "cancelled_at"]
    readonly_fields = ["title", "description", "starts_at", "ends_at", "components",
                       "cancelled_at", "created_by"]  # fmt: skip

    def has_add_permission(self, request):
        return False  # planned on the API (checked window, cache invalidated)

    def has_delete_permission(self, request, obj=None):
        return False
