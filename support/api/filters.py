import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.utils import timezone

from core.api.filters import DateTimeFilter, IdFilter
from core.inputs import parse_id

from ..models import Ticket
from ..models.choices import Channel, Priority, Status
from ..selectors import search_tickets

SLA_STATES = [
    ("on_track", "On track"),
    ("at_risk", "At risk"),
    ("breached", "Breached"),
    ("paused", "Paused"),
    ("met", "Met"),
]


class AssigneeField(forms.CharField):
    """`me`, `none` or an agent's id (then an int)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values or value in ("me", "none"):
            return value or None
        agent = parse_id(value)
        if agent is None:
            raise ValidationError("Enter an agent id, `me` or `none`.", code="invalid")
        return agent


class AssigneeFilter(django_filters.CharFilter):
    field_class = AssigneeField


# Every ordering ends on the primary key, so pages never overlap or skip a row.
ORDERINGS = {
    "created_at": ("created_at", "pk"),
    "-created_at": ("-created_at", "-pk"),
    # NULLS LAST as PostgreSQL's index already sorts them (SQLite would put them first).
    "sla_due_at": (F("sla_due_at").asc(nulls_last=True), "pk"),
    "-sla_due_at": ("-sla_due_at", "-pk"),
    "last_message_at": ("last_message_at", "pk"),
    "-last_message_at": ("-last_message_at", "-pk"),
    "updated_at": ("updated_at", "pk"),
    "-updated_at": ("-updated_at", "-pk"),
}
DEFAULT_ORDERING = ORDERINGS["-created_at"]


class TicketFilter(django_filters.FilterSet):
    # `field IN (...)` rather than django-filter's OR of equalities, so PostgreSQL can match
    # the partial queue index and read the first page straight off it.
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, method="filter_in")
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices, method="filter_in")
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices, method="filter_in")
    category = django_filters.CharFilter(field_name="category__slug")
    team = IdFilter(field_name="team_id")
    assigned_to = AssigneeFilter(
        method="filter_assigned_to", help_text="An agent id, `me` or `none`."
    )
    customer = IdFilter(field_name="customer_id")
    organization = IdFilter(field_name="organization_id")
    tag = django_filters.CharFilter(field_name="tags__name")
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")
    sla_state = django_filters.ChoiceFilter(choices=SLA_STATES, method="filter_sla_state")
    q = django_filters.CharFilter(method="filter_q", help_text="Keywords, a number or an e-mail.")
    ordering = django_filters.ChoiceFilter(
        choices=[(key, key) for key in ORDERINGS],
        method="filter_ordering",
        help_text="Sort order; newest first (`-created_at`) when omitted.",
    )

    class Meta:
        model = Ticket
        fields = []

    def filter_in(self, queryset, name, value):
        return queryset.filter(**{f"{name}__in": value}) if value else queryset

    def filter_assigned_to(self, queryset, name, value):
        if value == "me":
            return queryset.filter(assigned_to=self.request.user)
        if value == "none":
            return queryset.filter(assigned_to__isnull=True)
        return queryset.filter(assigned_to_id=value)

    def filter_ordering(self, queryset, name, value):
        return queryset.order_by(*ORDERINGS[value])

    def filter_sla_state(self, queryset, name, value):
        now = timezone.now()
        breached = Q(response_breached=True) | Q(resolution_breached=True) | Q(sla_due_at__lte=now)
        finished = Q(resolved_at__isnull=False) | Q(status__in=[Status.CLOSED, Status.CANCELLED])
        running = Q(sla_policy__isnull=False) & ~finished
        if value == "breached":
            return queryset.filter(Q(sla_policy__isnull=False) & breached)
        if value == "met":
            return queryset.filter(Q(sla_policy__isnull=False) & finished).exclude(
                Q(response_breached=True) | Q(resolution_breached=True)
            )
        if value == "paused":
            return queryset.filter(
                running, sla_paused_at__isnull=False, first_responded_at__isnull=False
            ).exclude(breached)
        warned = Q(response_warned=True) | Q(resolution_warned=True)
        if value == "at_risk":
            return queryset.filter(running & warned).exclude(breached)
        return (
            queryset.filter(running)
            .exclude(breached)
            .exclude(warned)
            .exclude(sla_paused_at__isnull=False, first_responded_at__isnull=False)
        )

    def filter_q(self, queryset, name, value):
        return search_tickets(queryset, value)
