from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import serializers as api
from support.models import Team
from support.permissions import active_staff

from ..models import (
    INCIDENT_STATE_CHOICES,
    Category,
    Component,
    ComponentState,
    Impact,
    Incident,
    IncidentUpdate,
    Maintenance,
    MaintenanceUpdate,
    Severity,
    Status,
)
from ..workflow import INCIDENT, STAFF

MAX_CUSTOMERS = 10**9


class AffectedComponentSerializer(api.Serializer):
    component = api.ScopedPrimaryKeyRelatedField(scope=lambda context: Component.objects.all())
    state = serializers.ChoiceField(choices=INCIDENT_STATE_CHOICES)


class AffectedComponentReadSerializer(api.Serializer):
    component = serializers.IntegerField(source="component_id")
    name = serializers.CharField(source="component.name")
    state = serializers.ChoiceField(choices=ComponentState.choices)


class IncidentSerializer(api.ModelSerializer):
    commander_name = serializers.SerializerMethodField()
    components = serializers.SerializerMethodField()
    breached = serializers.BooleanField(read_only=True)
    postmortem_required = serializers.BooleanField(read_only=True)
    postmortem_completed = serializers.SerializerMethodField()
    open_ticket_count = serializers.IntegerField(read_only=True)
    allowed_transitions = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "number",
            "title",
            "description",
            "severity",
            "status",
            "category",
            "impact",
            "affected_systems",
            "affected_services",
            "affected_customers",
            "is_public",
            "commander",
            "commander_name",
            "team",
            "reported_by",
            "detected_at",
            "acknowledged_at",
            "resolved_at",
            "closed_at",
            "response_due_at",
            "resolution_due_at",
            "response_breached_at",
            "resolution_breached_at",
            "breached",
            "postmortem_required",
            "postmortem_completed",
            "components",
            "open_ticket_count",
            "allowed_transitions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_commander_name(self, incident) -> str | None:
        return incident.commander.display_name if incident.commander_id else None

    def get_postmortem_completed(self, incident) -> bool:
        postmortem = getattr(incident, "postmortem", None)
        return postmortem is not None and postmortem.is_complete

    @extend_schema_field(AffectedComponentReadSerializer(many=True))
    def get_components(self, incident) -> list:
        return AffectedComponentReadSerializer(incident.affected.all(), many=True).data

    def get_allowed_transitions(self, incident) -> list[str]:
        return INCIDENT.allowed(incident.status, party=STAFF)


class StringList(serializers.ListField):
    def __init__(self, **kwargs):
        super().__init__(
            child=serializers.CharField(max_length=100),
            max_length=50,
            required=False,
            **kwargs,
        )


class IncidentWriteSerializer(api.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    severity = serializers.ChoiceField(choices=Severity.choices)
    category = serializers.ChoiceField(choices=Category.choices)
    impact = serializers.ChoiceField(choices=Impact.choices)
    affected_systems = StringList()
    affected_services = StringList()
    affected_customers = serializers.IntegerField(
        min_value=0, max_value=MAX_CUSTOMERS, required=False
    )
    is_public = serializers.BooleanField(required=False)
    commander = api.ScopedPrimaryKeyRelatedField(
        scope=lambda context: active_staff(), required=False, allow_null=True
    )
    team = api.ScopedPrimaryKeyRelatedField(
        scope=lambda context: Team.objects.all(), required=False, allow_null=True
    )
    reported_by = serializers.CharField(max_length=200, required=False, allow_blank=True)
    detected_at = serializers.DateTimeField(
        required=False, help_text="When it began (default now); set on creation only."
    )
    components = AffectedComponentSerializer(
        many=True,
        required=False,
        max_length=200,
        help_text="The components it affects and the state it puts each in (the full set).",
    )

    def validate_components(self, value):
        ids = [item["component"].pk for item in value]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError("A component is named twice.")
        return value


class IncidentUpdateSerializer(api.ModelSerializer):
    author_name = serializers.SerializerMethodField()

    class Meta:
        model = IncidentUpdate
        fields = [
            "id",
            "kind",
            "status",
            "body",
            "is_public",
            "author",
            "author_name",
            "created_at",
        ]
        read_only_fields = fields

    def get_author_name(self, update) -> str | None:
        return update.author.display_name if update.author_id else None


class IncidentUpdateCreateSerializer(api.Serializer):
    body = serializers.CharField(max_length=10000)
    is_public = serializers.BooleanField(
        default=False, help_text="Shown on the status page and sent to subscribers."
    )


class AcknowledgeSerializer(api.Serializer):
    commander = api.ScopedPrimaryKeyRelatedField(
        scope=lambda context: active_staff(),
        required=False,
        allow_null=True,
        help_text="Who commands the response (default: you).",
    )


class IncidentTransitionSerializer(api.Serializer):
    status = serializers.ChoiceField(choices=Status.choices)
    message = serializers.CharField(max_length=10000, required=False, allow_blank=True, default="")
    is_public = serializers.BooleanField(
        default=True, help_text="Whether the move and its message show on the status page."
    )


class TicketRefsSerializer(api.Serializer):
    tickets = serializers.ListField(
        child=serializers.RegexField(r"^(?:[0-9]{1,19}|[A-Za-z]{3}-[0-9]{8}-[0-9]{1,9})$"),
        min_length=1,
        max_length=500,
        help_text="Tickets by id or number (TKT-YYYYMMDD-NNNN).",
    )


class TicketLinkResultSerializer(api.Serializer):
    changed = serializers.IntegerField(help_text="Links made (or removed) by this request.")
    open_ticket_count = serializers.IntegerField()


class LinkedTicketSerializer(api.Serializer):
    id = serializers.IntegerField(source="ticket.id")
    number = serializers.CharField(source="ticket.number")
    subject = serializers.CharField(source="ticket.subject")
    status = serializers.CharField(source="ticket.status")
    linked_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)


class ArticleRefSerializer(api.Serializer):
    article = serializers.RegexField(
        r"^(?:[0-9]{1,19}|[Kk][Bb]-[0-9]{1,12})$",
        help_text="A knowledge-base article by id or number (KB-NNNNN).",
    )


class LinkedArticleSerializer(api.Serializer):
    id = serializers.IntegerField(source="article.id")
    number = serializers.CharField(source="article.number")
    title = serializers.CharField(source="article.title")
    status = serializers.CharField(source="article.status")
    is_internal = serializers.BooleanField(source="article.is_internal")
    linked_at = serializers.DateTimeField()


class ArticleLinkResultSerializer(api.Serializer):
    changed = serializers.BooleanField(help_text="Whether this request made (or removed) a link.")
    articles = LinkedArticleSerializer(many=True)


class DraftedArticleSerializer(api.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()
    status = serializers.CharField()
    is_internal = serializers.BooleanField()
    created = serializers.BooleanField(help_text="False when the draft was made before.")


class ComponentSerializer(api.ModelSerializer):
    class Meta:
        model = Component
        fields = ["id", "name", "description", "group", "order", "state", "updated_at"]
        read_only_fields = fields


class ComponentWriteSerializer(api.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    group = serializers.CharField(max_length=100, required=False, allow_blank=True)
    order = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False)


class MaintenanceSerializer(api.ModelSerializer):
    class Meta:
        model = Maintenance
        fields = [
            "id",
            "title",
            "description",
            "starts_at",
            "ends_at",
            "components",
            "cancelled_at",
            "created_at",
        ]
        read_only_fields = fields


class MaintenanceUpdateSerializer(api.ModelSerializer):
    author_name = serializers.SerializerMethodField()

    class Meta:
        model = MaintenanceUpdate
        fields = ["id", "body", "author", "author_name", "created_at"]
        read_only_fields = fields

    def get_author_name(self, update) -> str | None:
        return update.author.display_name if update.author_id else None


class MaintenanceUpdateCreateSerializer(api.Serializer):
    body = serializers.CharField(max_length=10000, help_text="Public: status page and e-mail.")


class MaintenanceWriteSerializer(api.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    components = api.ScopedPrimaryKeyRelatedField(
        scope=lambda context: Component.objects.all(), many=True, required=False
    )


class MetricsQuerySerializer(api.Serializer):
    period = serializers.ChoiceField(choices=["day", "week", "month"], default="month")
    since = serializers.DateTimeField(
        required=False, help_text="Detected at or after (default: a year ago)."
    )
    until = serializers.DateTimeField(required=False, help_text="Detected before (default: now).")


class MetricsRowSerializer(api.Serializer):
    period_start = serializers.DateTimeField()
    severity = serializers.ChoiceField(choices=Severity.choices)
    incidents = serializers.IntegerField()
    acknowledged = serializers.IntegerField()
    resolved = serializers.IntegerField()
    mtta_seconds = serializers.FloatField(allow_null=True, help_text="Mean time to acknowledge.")
    mttr_seconds = serializers.FloatField(allow_null=True, help_text="Mean time to resolve.")


class MetricsSerializer(api.Serializer):
    period = serializers.CharField()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    rows = MetricsRowSerializer(many=True)


class ActionItemSerializer(api.Serializer):
    description = serializers.CharField(max_length=500)
    owner = api.ScopedPrimaryKeyRelatedField(
        scope=lambda context: active_staff(), required=False, allow_null=True
    )
    due_on = serializers.DateField(required=False, allow_null=True)
    done = serializers.BooleanField(required=False, default=False)


class PostMortemSerializer(api.Serializer):
    summary = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    root_cause = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    contributing_factors = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    lessons = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    action_items = ActionItemSerializer(many=True, required=False, max_length=100)
    complete = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true completes it (needs summary, root cause, lessons); false reopens it.",
    )


class ActionItemReadSerializer(api.Serializer):
    description = serializers.CharField()
    owner = serializers.IntegerField(source="owner_id", allow_null=True)
    due_on = serializers.DateField(allow_null=True)
    done = serializers.BooleanField()


class PostMortemReadSerializer(api.Serializer):
    summary = serializers.CharField()
    root_cause = serializers.CharField()
    contributing_factors = serializers.CharField()
    lessons = serializers.CharField()
    action_items = ActionItemReadSerializer(source="actions.all", many=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    completed_by = serializers.IntegerField(source="completed_by_id", allow_null=True)
    article = serializers.IntegerField(
        source="article_id", allow_null=True, help_text="The known-issue article drafted from it."
    )
    updated_at = serializers.DateTimeField()
