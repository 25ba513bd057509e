"""Django admin for support: lists scoped like the desk, rule-bearing writes through services.

A ticket's status, priority, assignee, SLA fields and number are read-only in the change form:
they change through the actions ("Assign to me", "Resolve", "Close"), which call the services
per ticket and report refusals instead of failing. The plain fields (subject, category, team,
channel, tags) are saved through `update_ticket`, so the change is audited like any other.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, F
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from core.admin import AuditTrailInline, ReadOnlyAdmin, ReadOnlyInline
from core.errors import DomainError
from knowledge.markdown import render_message

from . import services
from .chat import admin as chat_admin  # noqa: F401 - registers live chat's widgets
from .chat.permissions import can_change_chat_settings
from .models import (
    AgentProfile,
    AgentProfileEvent,
    Category,
    EscalationLevel,
    EscalationPolicy,
    InboundEmail,
    ResponseTemplate,
    Rule,
    RuleEvent,
    SLAPolicy,
    Tag,
    Team,
    Ticket,
    TicketEvent,
    TicketMessage,
)
from .models.choices import Status
from .permissions import (
    active_staff,
    can_change_agent_capacity,
    can_edit_rules,
    can_reply,
    can_write_internal_note,
)
from .querysets import sees_all_tickets
from .selectors import messages_for, search_tickets

EXCERPT_CHARS = 120


class AdminReplyForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 8, "cols": 80}), max_length=100_000)
    internal = forms.BooleanField(required=False, label="Internal note (staff only)")

    def __init__(self, *args, allow_internal: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not allow_internal:
            del self.fields["internal"]


class TicketMessageInline(ReadOnlyInline):
    model = TicketMessage
    fields = ["created_at", "sender_type", "author", "is_internal", "excerpt"]
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")

    @admin.display(description="Message")
    def excerpt(self, message):
        return Truncator(message.body_text).chars(EXCERPT_CHARS)


class TicketEventInline(AuditTrailInline):
    model = TicketEvent
    fields = ["created_at", "kind", "actor", "before", "after", "note", "is_internal"]


# What `services.update_ticket` accepts from the form (tags are saved with the relations).
TICKET_EDITABLE_FIELDS = ["subject", "category", "team", "channel"]

TICKET_FIELDSETS = [
    (None, {"fields": ["number", "subject", "description", "status", "priority"]}),
    ("Routing", {"fields": ["channel", "category", "team", "assigned_to", "tags"]}),
    (
        "Customer",
        {"fields": ["customer", "customer_email", "customer_name", "organization"]},
    ),
    (
        "SLA",
        {
            "classes": ["collapse"],
            "fields": [
                "sla_policy",
                ("response_target_minutes", "resolution_target_minutes"),
                ("sla_overridden_by", "sla_overridden_at", "sla_override_reason"),
                ("response_warn_at", "first_response_due_at"),
                ("resolution_warn_at", "resolution_due_at"),
                "sla_due_at",
                ("first_responded_at", "first_response_working_minutes"),
                ("resolved_at", "resolution_working_minutes"),
                "closed_at",
                ("sla_paused_at", "sla_paused_minutes", "sla_pauses"),
                ("response_warned", "response_breached", "response_breached_at"),
                ("resolution_warned", "resolution_breached", "resolution_breached_at"),
                ("escalation_level", "next_escalation_at"),
            ],
        },
    ),
    (
        "Activity",
        {
            "classes": ["collapse"],
            "fields": [
                "last_message_at",
                "customer_last_reply_at",
                "satisfaction_rating",
                "satisfaction_comment",
                "nps_score",
                "rated_at",
                "merged_into",
                "created_at",
                "updated_at",
            ],
        },
    ),
]


def _flatten(fieldsets) -> list[str]:
    names = []
    for _, options in fieldsets:
        for entry in options["fields"]:
            names += list(entry) if isinstance(entry, tuple) else [entry]
    return names


# Everything else shown is changed only by the services (lifecycle, assignment, SLA), never typed
# into the form; tags are saved with the relations.
TICKET_READONLY_FIELDS = [
    name for name in _flatten(TICKET_FIELDSETS) if name not in {*TICKET_EDITABLE_FIELDS, "tags"}
]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "subject",
        "status",
        "priority",
        "assigned_to",
        "team",
        "sla_due_at",
        "created_at",
    ]
    list_filter = ["status", "priority", "channel", "team", "category"]
    search_fields = ["number", "subject", "customer_email"]
    # The SLA-ordered queue: nearest deadline first, tickets without one last.
    ordering = [F("sla_due_at").asc(nulls_last=True), "-pk"]
    list_select_related = ["assigned_to", "team"]
    autocomplete_fields = ["customer", "assigned_to", "team", "category", "organization"]
    filter_horizontal = ["tags"]
    show_full_result_count = False
    list_per_page = 50
    fieldsets = TICKET_FIELDSETS
    readonly_fields = TICKET_READONLY_FIELDS
    inlines = [TicketMessageInline, TicketEventInline]
    actions = ["claim", "assign_to_me", "resolve", "close"]
    change_form_template = "admin/support/ticket/change_form.html"

    def get_queryset(self, request):
        # The desk's scoping, not the admin's own: superusers and leads see all, agents theirs.
        return super().get_queryset(request).visible_to(request.user)

    def get_search_results(self, request, queryset, search_term):
        # The kernel's search, as on the desk: numbers and addresses exactly, words by full text.
        if not search_term.strip():
            return queryset, False
        return search_tickets(queryset, search_term), False

    def get_urls(self):
        own = [
            path(
                "<path:object_id>/reply/",
                self.admin_site.admin_view(self.reply_view),
                name="support_ticket_reply",
            )
        ]
        return own + super().get_urls()

    def reply_view(self, request, object_id):
        """A reply or an internal note from the admin, through `add_message` like everywhere."""
        ticket = self.get_queryset(request).filter(pk=object_id).first()
        if ticket is None or not can_reply(request.user, ticket):
            raise Http404("No such ticket.")
        allow_note = can_write_internal_note(request.user, ticket)
        form = AdminReplyForm(request.POST or None, allow_internal=allow_note)
        if request.method == "POST" and form.is_valid():
            try:
                services.add_message(
                    ticket=ticket,
                    by=request.user,
                    body=render_message(form.cleaned_data["body"]),
                    internal=form.cleaned_data.get("internal", False),
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(
                    request, "Noted." if form.cleaned_data.get("internal") else "Sent."
                )
                return redirect("admin:support_ticket_change", ticket.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reply to {ticket.number}",
            "ticket": ticket,
            "form": form,
            "opts": self.model._meta,
            "conversation": list(messages_for(ticket=ticket, user=request.user)),
        }
        return TemplateResponse(request, "admin/support/ticket/reply.html", context)

    @admin.action(description="Claim (unassigned only)")
    def claim(self, request, queryset):
        self._apply(
            request,
            queryset,
            "Claimed",
            lambda ticket: services.claim_ticket(ticket=ticket, by=request.user),
        )

    def has_add_permission(self, request):
        return False  # tickets are opened through create_ticket (numbers, SLA, routing)

    def has_delete_permission(self, request, obj=None):
        return False  # the audit trail outlives any admin session

    def save_model(self, request, obj, form, change):
        changes = {
            name: form.cleaned_data[name]
            for name in TICKET_EDITABLE_FIELDS
            if name in form.changed_data
        }
        if changes:
            services.update_ticket(ticket=obj, by=request.user, **changes)

    def save_related(self, request, form, formsets, change):
        # The inlines are read-only (saving them changes nothing); tags go through the service
        # so their change is audited too.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
        if "tags" in form.changed_data:
            names = [tag.name for tag in form.cleaned_data["tags"]]
            services.update_ticket(ticket=form.instance, by=request.user, tags=names)

    def _apply(self, request, queryset, verb: str, change) -> None:
        """Run `change(ticket)` per ticket; refusals become one warning, not an error page."""
        done, refused = 0, []
        for ticket in queryset.order_by("pk"):
            try:
                change(ticket)
            except DomainError as exc:
                refused.append(f"{ticket.number}: {exc.message}")
            else:
                done += 1
        if done:
            self.message_user(request, f"{verb}: {done} ticket(s).", level=messages.SUCCESS)
        if refused:
            self.message_user(
                request,
                f"Not {verb.lower()}: " + " ".join(refused),
                level=messages.WARNING,
            )

    @admin.action(description="Assign to me")
    def assign_to_me(self, request, queryset):
        self._apply(
            request,
            queryset,
            "Assigned",
            lambda ticket: services.assign_ticket(
                ticket=ticket, agent=request.user, by=request.user, note="Assigned in the admin"
            ),
        )

    @admin.action(description="Resolve")
    def resolve(self, request, queryset):
        self._apply(
            request,
            queryset,
            "Resolved",
            lambda ticket: services.change_status(
                ticket=ticket, to=Status.RESOLVED, by=request.user
            ),
        )

    @admin.action(description="Close")
    def close(self, request, queryset):
        self._apply(
            request,
            queryset,
            "Closed",
            lambda ticket: services.change_status(ticket=ticket, to=Status.CLOSED, by=request.user),
        )


@admin.register(TicketMessage)
class TicketMessageAdmin(ReadOnlyAdmin):
    """Read-only: messages are written by add_message (sanitising, notifying, SLA clocks)."""

    list_display = ["created_at", "ticket", "sender_type", "author", "is_internal"]
    list_filter = ["sender_type", "is_internal"]
    list_select_related = ["ticket", "author"]
    search_fields = ["ticket__number", "email_message_id"]
    readonly_fields = [
        "ticket",
        "author",
        "sender_type",
        "is_internal",
        "body_text",
        "email_message_id",
        "created_at",
    ]
    fields = readonly_fields
    show_full_result_count = False

    def get_queryset(self, request):
        visible = Ticket.objects.visible_to(request.user)
        return super().get_queryset(request).filter(ticket__in=visible)


@admin.register(ResponseTemplate)
class ResponseTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "category", "is_active", "updated_at"]
    list_filter = ["channel", "is_active", "category"]
    list_select_related = ["category"]
    search_fields = ["name", "subject", "body"]
    autocomplete_fields = ["category"]
    readonly_fields = ["created_by", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "strategy", "last_assigned_to"]
    list_filter = ["strategy"]
    list_select_related = ["last_assigned_to"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["members", "categories"]
    # The round-robin pointer belongs to auto_assign, which moves it under the team's row lock.
    readonly_fields = ["last_assigned_to"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "members":  # they work the team's tickets: active staff only
            kwargs["queryset"] = active_staff().order_by("full_name", "email")
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class AgentProfileEventInline(AuditTrailInline):
    model = AgentProfileEvent


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "status",
        "capacity",
        "chat_enabled",
        "max_concurrent_chats",
        "status_changed_at",
    ]
    list_filter = ["status", "chat_enabled"]
    list_select_related = ["user"]
    search_fields = ["user__email", "user__full_name"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["skills"]
    inlines = [AgentProfileEventInline]
    readonly_fields = ["status_changed_at", "last_seen_at", "last_chat_assigned_at"]
    # What `services.update_agent_profile` takes; who may change which is its rule.
    SERVICE_FIELDS = ("status", "capacity", "skills", "chat_enabled", "max_concurrent_chats")

    def get_readonly_fields(self, request, obj=None):
        fixed = [*self.readonly_fields, "user"] if obj else list(self.readonly_fields)
        if not can_change_agent_capacity(request.user):
            fixed += ["capacity", "skills"]
        if not can_change_chat_settings(request.user):
            fixed += ["chat_enabled", "max_concurrent_chats"]
        return fixed

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":  # a profile is an agent's: active staff only
            kwargs["queryset"] = active_staff()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        # Through the service, from the stored row, so it sees (stamps, records) the real
        # change. Only what changed: an agent may set their own status but not their capacity.
        changes = {
            name: form.cleaned_data[name]
            for name in self.SERVICE_FIELDS
            if name in form.changed_data
        }
        if changes:
            services.update_agent_profile(
                profile=AgentProfile.objects.get(pk=obj.pk), by=request.user, **changes
            )

    def save_related(self, request, form, formsets, change):
        if not change:
            super().save_related(request, form, formsets, change)
            return
        # On a change the service set the skills (no `save_m2m`); the audit trail's formset is
        # read-only, saved only so that the admin's change message can read it.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def get_queryset(self, request):
        # Leads manage everyone's; an agent sees their own profile (their status) only.
        profiles = super().get_queryset(request)
        if can_change_agent_capacity(request.user):
            return profiles
        return profiles.filter(user=request.user)


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "priority",
        "customer_tier",
        "first_response_minutes",
        "resolution_minutes",
        "warning_percent",
        "calendar",
        "is_active",
    ]
    list_filter = ["priority", "customer_tier", "is_active"]
    list_select_related = ["calendar"]
    search_fields = ["name"]
    autocomplete_fields = ["calendar"]


class EscalationLevelInline(admin.StackedInline):
    model = EscalationLevel
    extra = 0
    autocomplete_fields = ["notify_team", "reassign_team"]
    filter_horizontal = ["notify_users"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "notify_users":  # people who work the desk, not customers
            kwargs["queryset"] = active_staff().order_by("full_name", "email")
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "level_count"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    inlines = [EscalationLevelInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(levels_count=Count("levels"))

    @admin.display(description="levels", ordering="levels_count")
    def level_count(self, policy):
        return policy.levels_count


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


# The stored original shown in the admin: enough for any real mail's text; the rest is elided.
RAW_PREVIEW_BYTES = 256 * 1024


@admin.register(InboundEmail)
class InboundEmailAdmin(ReadOnlyAdmin):
    """Every mail that reached support and what became of it; read-only (written by
    `support.inbound.services.receive`). Leads and admins see all of them; an agent sees those
    of the tickets the desk shows them. The original is shown escaped, as text."""

    list_display = ["received_at", "sender", "subject", "outcome", "ticket"]
    list_filter = ["outcome"]
    list_select_related = ["ticket"]
    search_fields = ["email_message_id", "sender", "ticket__number"]
    fields = [
        "received_at",
        "email_message_id",
        "sender",
        "sender_name",
        "recipients",
        "subject",
        "outcome",
        "reason",
        "ticket",
        "message",
        "original_text",
        "original",
    ]
    readonly_fields = fields
    show_full_result_count = False

    def get_queryset(self, request):
        queryset = super().get_queryset(request).defer("raw_message")
        if sees_all_tickets(request.user):
            return queryset
        return queryset.filter(ticket__in=Ticket.objects.visible_to(request.user))

    @admin.display(description="Original message (MIME)")
    def original(self, record):
        raw = InboundEmail.objects.filter(pk=record.pk).values_list("raw_message", flat=True)
        data = bytes(raw.first() or b"")
        more = len(data) - RAW_PREVIEW_BYTES
        text = data[:RAW_PREVIEW_BYTES].decode("utf-8", "replace")
        suffix = f"\n… {more} more bytes" if more > 0 else ""
        return format_html("<pre style='white-space:pre-wrap'>{}{}</pre>", text, suffix)


class RuleEventInline(AuditTrailInline):
    model = RuleEvent
    fields = ["created_at", "kind", "version", "actor", "after"]
    ordering = ["-created_at", "-pk"]


@admin.register(Rule)
class RuleAdmin(ReadOnlyAdmin):
    """Triggers and automations, read-only: they are written in the desk's editor (versioned,
    with a dry run); here leads see them with their history and switch them on, off or archive
    them through the same services."""

    list_display = ["name", "kind", "position", "enabled", "version", "author", "updated_at"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "description"]
    ordering = ["kind", "position", "pk"]
    fields = [
        "edit_link",
        "kind",
        "name",
        "description",
        "enabled",
        "disabled_reason",
        "match",
        "conditions",
        "actions",
        "events",
        "stop_processing",
        "anchor",
        "after_minutes",
        "author",
        "version",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    inlines = [RuleEventInline]
    actions = ["enable", "disable", "archive"]

    def get_queryset(self, request):
        return super().get_queryset(request).live().select_related("author")

    def has_view_permission(self, request, obj=None):
        return can_edit_rules(request.user)

    def has_module_permission(self, request):
        return can_edit_rules(request.user)

    @admin.display(description="Edit")
    def edit_link(self, rule):
        url = reverse("desk-rule", args=[rule.pk])
        return format_html('<a href="{}">Edit in the desk (dry run, versions)</a>', url)

    def _each(self, request, queryset, verb: str, change) -> None:
        from .rules import services as rule_services

        done = 0
        for rule in queryset:
            try:
                change(rule_services, rule)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{rule.name}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{verb} {done} rule(s).", messages.SUCCESS)

    @admin.action(description="Enable")
    def enable(self, request, queryset):
        def change(svc, rule):
            svc.set_enabled(rule=rule, by=request.user, enabled=True)

        self._each(request, queryset, "Enabled", change)

    @admin.action(description="Disable")
    def disable(self, request, queryset):
        def change(svc, rule):
            svc.set_enabled(rule=rule, by=request.user, enabled=False)

        self._each(request, queryset, "Disabled", change)

    @admin.action(description="Archive")
    def archive(self, request, queryset):
        def change(svc, rule):
            svc.archive_rule(rule=rule, by=request.user)

        self._each(request, queryset, "Archived", change)
