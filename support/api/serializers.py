from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import serializers as api
from core.errors import DomainError
from core.roles import is_staff_member

from .. import permissions
from ..models import (
    AgentProfile,
    Attachment,
    Category,
    ResponseTemplate,
    Team,
    Ticket,
    TicketArticle,
    TicketEvent,
    TicketMessage,
)
from ..models.choices import AgentStatus, Channel, Priority, Status
from ..selectors import articles_of
from ..services.tickets import check_customer_priority
from ..sla import sla_state
from ..templating import validate_template_text
from ..workflow import allowed_targets


class PersonSerializer(api.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")


class CustomerSerializer(api.Serializer):
    id = serializers.IntegerField(
        allow_null=True, help_text="Null for a requester without an account."
    )
    name = serializers.CharField()
    email = serializers.EmailField(allow_blank=True)


class SatisfactionSerializer(api.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(allow_blank=True)
    nps_score = serializers.IntegerField(min_value=0, max_value=10, allow_null=True)
    rated_at = serializers.DateTimeField(allow_null=True)


class CategorySerializer(api.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "slug", "name", "description", "is_active"]


def _caller(context):
    request = context.get("request")
    return getattr(request, "user", None)


class TeamSerializer(api.ModelSerializer):
    # Members work the team's tickets: active staff only (a customer's id reads as missing).
    members = api.ScopedPrimaryKeyRelatedField(
        many=True, scope=lambda context: permissions.active_staff(), required=False
    )
    categories = serializers.SlugRelatedField(
        many=True, slug_field="slug", queryset=Category.objects.all(), required=False
    )

    class Meta:
        model = Team
        fields = ["id", "name", "slug", "strategy", "members", "categories"]


class AgentSerializer(api.ModelSerializer):
    id = serializers.IntegerField(source="user.id", read_only=True)
    name = serializers.CharField(source="user.display_name", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    skills = serializers.SlugRelatedField(
        many=True, slug_field="slug", queryset=Category.objects.all(), required=False
    )
    active_tickets = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(choices=AgentStatus.choices, required=False)

    class Meta:
        model = AgentProfile
        fields = [
            "id",
            "name",
            "email",
            "status",
            "capacity",
            "skills",
            "active_tickets",
            "status_changed_at",
            "chat_enabled",
            "max_concurrent_chats",
            "last_seen_at",
        ]
        read_only_fields = ["status_changed_at", "last_seen_at"]
        extra_kwargs = {
            "chat_enabled": {"help_text": "Whether live chat routes chats to the agent (leads)."},
            "max_concurrent_chats": {
                "help_text": "Most chats the agent holds at once, 0 to 50 (leads)."
            },
            "last_seen_at": {"help_text": "When the agent's desk was last seen (chat presence)."},
        }


class SLASummarySerializer(api.Serializer):
    state = serializers.CharField()
    policy = serializers.CharField(allow_null=True)
    first_response_due_at = serializers.DateTimeField(allow_null=True)
    resolution_due_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    first_responded_at = serializers.DateTimeField(allow_null=True)


def sla_summary(ticket: Ticket) -> dict:
    return {
        "state": sla_state(ticket, now=timezone.now()),
        "policy": ticket.sla_policy.name if ticket.sla_policy_id else None,
        "first_response_due_at": ticket.first_response_due_at,
        "resolution_due_at": ticket.resolution_due_at,
        "due_at": ticket.sla_due_at,
        "first_responded_at": ticket.first_responded_at,
    }


class TicketListSerializer(api.ModelSerializer):
    """What the staff queue shows. Customers get `CustomerTicketSerializer`."""

    customer = serializers.SerializerMethodField()
    assigned_to = PersonSerializer(read_only=True, allow_null=True)
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    organization = serializers.StringRelatedField(allow_null=True)
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    sla = serializers.SerializerMethodField()
    unread_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "subject",
            "status",
            "priority",
            "channel",
            "category",
            "team",
            "assigned_to",
            "customer",
            "organization",
            "tags",
            "sla",
            "escalation_level",
            "unread_count",
            "last_message_at",
            "customer_last_reply_at",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(CustomerSerializer)
    def get_customer(self, ticket):
        return {
            "id": ticket.customer_id,
            "name": ticket.customer_name or ticket.customer_email,
            "email": ticket.customer_email,
        }

    @extend_schema_field(SLASummarySerializer)
    def get_sla(self, ticket):
        # A plain dict (DRF renders the datetimes): a nested serializer per row cost more than
        # half of the queue page's serialisation.
        return sla_summary(ticket)

    def to_representation(self, ticket):
        """The declared fields (they document the schema), built directly for speed.

        The queue serialises 25 tickets of 19 fields per request; DRF's per-field machinery was
        a large share of the page's time. `test_api` checks the output against the schema.
        """
        when = _DATETIME.to_representation
        assignee = ticket.assigned_to
        return {
            "id": ticket.pk,
            "number": ticket.number,
            "subject": ticket.subject,
            "status": ticket.status,
            "priority": ticket.priority,
            "channel": ticket.channel,
            "category": ticket.category.slug if ticket.category_id else None,
            "team": ticket.team.slug if ticket.team_id else None,
            "assigned_to": (
                {"id": assignee.pk, "name": assignee.display_name} if assignee else None
            ),
            "customer": self.get_customer(ticket),
            "organization": str(ticket.organization) if ticket.organization_id else None,
            "tags": [tag.name for tag in ticket.tags.all()],
            "sla": sla_summary(ticket),
            "escalation_level": ticket.escalation_level,
            "unread_count": getattr(ticket, "unread_count", 0),
            "last_message_at": when(ticket.last_message_at) if ticket.last_message_at else None,
            "customer_last_reply_at": (
                when(ticket.customer_last_reply_at) if ticket.customer_last_reply_at else None
            ),
            "created_at": when(ticket.created_at),
            "updated_at": when(ticket.updated_at),
        }


_DATETIME = serializers.DateTimeField()


class TicketArticleSerializer(api.Serializer):
    id = serializers.IntegerField(source="article.id", help_text="The article's id.")
    number = serializers.CharField(source="article.number")
    title = serializers.CharField(source="article.title")
    how = serializers.ChoiceField(
        choices=TicketArticle.How.choices,
        help_text="`inserted`: sent in a staff reply; `linked`: linked by hand.",
    )
    linked_at = serializers.DateTimeField()


class TicketDetailSerializer(TicketListSerializer):
    allowed_transitions = serializers.SerializerMethodField()
    satisfaction = serializers.SerializerMethodField()
    articles = serializers.SerializerMethodField(
        help_text="Knowledge base articles sent in replies or linked by hand (staff only)."
    )

    class Meta(TicketListSerializer.Meta):
        fields = [
            *TicketListSerializer.Meta.fields,
            "description",
            "description_text",
            "resolved_at",
            "closed_at",
            "merged_into",
            "allowed_transitions",
            "satisfaction",
            "articles",
        ]

    def to_representation(self, ticket):
        when = _DATETIME.to_representation
        return {
            **super().to_representation(ticket),
            "description": ticket.description,
            "description_text": ticket.description_text,
            "resolved_at": when(ticket.resolved_at) if ticket.resolved_at else None,
            "closed_at": when(ticket.closed_at) if ticket.closed_at else None,
            "merged_into": ticket.merged_into_id,
            "allowed_transitions": self.get_allowed_transitions(ticket),
            "satisfaction": self.get_satisfaction(ticket),
            "articles": self.get_articles(ticket),
        }

    @extend_schema_field(TicketArticleSerializer(many=True))
    def get_articles(self, ticket):
        # Staff only: customers get `CustomerTicketSerializer`, which has no such field.
        return TicketArticleSerializer(articles_of(ticket), many=True).data

    def get_allowed_transitions(self, ticket) -> list[str]:
        user = self.context["request"].user
        return allowed_targets(ticket.status, staff=is_staff_member(user))

    @extend_schema_field(SatisfactionSerializer(allow_null=True))
    def get_satisfaction(self, ticket):
        if ticket.satisfaction_rating is None:
            return None
        return {
            "rating": ticket.satisfaction_rating,
            "comment": ticket.satisfaction_comment,
            "nps_score": ticket.nps_score,
            "rated_at": ticket.rated_at,
        }


class CustomerTicketSerializer(api.ModelSerializer):
    """A customer's view of their ticket: no team, SLA internals or staff-only counters."""

    category = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    assigned_to = serializers.SerializerMethodField()
    allowed_transitions = serializers.SerializerMethodField()
    satisfaction = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "subject",
            "description",
            "status",
            "priority",
            "channel",
            "category",
            "assigned_to",
            "last_message_at",
            "created_at",
            "updated_at",
            "resolved_at",
            "closed_at",
            "allowed_transitions",
            "satisfaction",
        ]

    def get_assigned_to(self, ticket) -> str | None:
        return ticket.assigned_to.display_name if ticket.assigned_to_id else None

    def get_allowed_transitions(self, ticket) -> list[str]:
        return allowed_targets(ticket.status, staff=False)

    @extend_schema_field(SatisfactionSerializer(allow_null=True))
    def get_satisfaction(self, ticket):
        return TicketDetailSerializer.get_satisfaction(self, ticket)


class TicketCreateSerializer(api.Serializer):
    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(
        allow_blank=True, required=False, default="", max_length=100_000
    )
    category = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Category.objects.filter(is_active=True),
        required=False,
        allow_null=True,
    )
    priority = serializers.ChoiceField(
        choices=Priority.choices,
        required=False,
        help_text="Omitted: from the rules (category, customer tier). Customers may choose up to "
        "`CUSTOMER_MAX_PRIORITY` (high); staff any.",
    )
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.API)
    tags = serializers.ListField(
        child=serializers.SlugField(max_length=50), required=False, default=list, max_length=20
    )
    # Staff only: on whose behalf, and to which team. Ignored for customers. Staff may name any
    # active customer account; a customer only themselves (anyone else reads as a missing id).
    customer = api.ScopedPrimaryKeyRelatedField(
        scope=lambda context: permissions.pickable_customers(_caller(context)),
        required=False,
        allow_null=True,
    )
    customer_email = serializers.EmailField(required=False, allow_blank=True)
    customer_name = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )

    STAFF_ONLY = ("customer", "customer_email", "customer_name", "team", "channel")

    def validate_priority(self, value):
        if not is_staff_member(self.context["request"].user):
            try:
                check_customer_priority(value)
            except DomainError as exc:
                raise serializers.ValidationError(exc.errors["priority"], code=exc.code) from None
        return value

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if not is_staff_member(self.context["request"].user):
            for name in self.STAFF_ONLY:
                values.pop(name, None)
            values["channel"] = Channel.API  # a customer filing through the API
        return values


class TicketUpdateSerializer(api.Serializer):
    subject = serializers.CharField(max_length=200, required=False)
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all(), required=False, allow_null=True
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    tags = serializers.ListField(
        child=serializers.SlugField(max_length=50), required=False, max_length=20
    )
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)


class AttachmentSerializer(api.ModelSerializer):
    name = serializers.CharField(source="original_name")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "name", "content_type", "size", "message", "created_at", "download_url"]

    def get_download_url(self, attachment) -> str:
        return _download_url(attachment, self.context["request"])


def _download_url(attachment, request) -> str:
    return request.build_absolute_uri(
        f"/api/v1/support/tickets/{attachment.ticket_id}/attachments/{attachment.pk}/download/"
    )


class RecipientSerializer(api.Serializer):
    recipient = PersonSerializer()
    delivered_at = serializers.DateTimeField(allow_null=True)
    read_at = serializers.DateTimeField(allow_null=True)


class MessageSerializer(api.ModelSerializer):
    author = PersonSerializer(read_only=True, allow_null=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = TicketMessage
        fields = [
            "id",
            "author",
            "sender_type",
            "body_html",
            "body_text",
            "attachments",
            "created_at",
        ]

    def to_representation(self, message):
        """The declared fields (they document the schema), built directly for speed.

        A 50-message page ran DRF's per-field machinery for every message, attachment and
        recipient, and built two related managers per message to reach their prefetched rows;
        `test_api` checks the output against the schema.
        """
        when = _DATETIME.to_representation
        author = message.author
        return {
            "id": message.pk,
            "author": {"id": author.pk, "name": author.display_name} if author else None,
            "sender_type": message.sender_type,
            "body_html": message.body_html,
            "body_text": message.body_text,
            "attachments": [
                _attachment(a, self.context["request"]) for a in _prefetched(message, "attachments")
            ],
            "created_at": when(message.created_at),
        }


def _prefetched(instance, name):
    """The rows `prefetch_related(name)` loaded, without a related manager and a queryset per
    instance; the relation's own query if nothing was prefetched."""
    cache = getattr(instance, "_prefetched_objects_cache", {})
    return cache[name] if name in cache else getattr(instance, name).all()


def _attachment(attachment, request) -> dict:
    when = _DATETIME.to_representation
    return {
        "id": attachment.pk,
        "name": attachment.original_name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "message": attachment.message_id,
        "created_at": when(attachment.created_at),
        "download_url": _download_url(attachment, request),
    }


class StaffMessageSerializer(MessageSerializer):
    recipients = RecipientSerializer(many=True, read_only=True)

    class Meta(MessageSerializer.Meta):
        fields = [*MessageSerializer.Meta.fields, "is_internal", "recipients"]

    def to_representation(self, message):
        when = _DATETIME.to_representation
        return {
            **super().to_representation(message),
            "is_internal": message.is_internal,
            "recipients": [
                {
                    "recipient": {"id": r.recipient.pk, "name": r.recipient.display_name},
                    "delivered_at": when(r.delivered_at) if r.delivered_at else None,
                    "read_at": when(r.read_at) if r.read_at else None,
                }
                for r in _prefetched(message, "recipients")
            ],
        }


class MessageCreateSerializer(api.Serializer):
    body = serializers.CharField(allow_blank=True, required=False, default="", max_length=100_000)
    internal = serializers.BooleanField(default=False, help_text="An internal note (staff only).")
    files = serializers.ListField(
        child=serializers.FileField(), required=False, default=list, max_length=10
    )
    template = serializers.PrimaryKeyRelatedField(
        queryset=ResponseTemplate.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Use a canned response as the body (staff only).",
    )


class TransitionSerializer(api.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class StatusChangeSerializer(TransitionSerializer):
    status = serializers.ChoiceField(choices=Status.choices)


class AssignSerializer(api.Serializer):
    # Needs `ticket` in the context: whom the caller may pick depends on the ticket's team.
    agent = api.ScopedPrimaryKeyRelatedField(
        scope=lambda context: permissions.pickable_assignees(
            _caller(context), context.get("ticket")
        ),
        allow_null=True,
        help_text="The agent (staff who may work the ticket); null unassigns.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class MergeSerializer(api.Serializer):
    into = serializers.CharField(help_text="Id or number of the ticket that receives this one.")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class LinkSerializer(api.Serializer):
    ticket = serializers.CharField(help_text="Id or number of the related ticket.")


class RateSerializer(api.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    nps_score = serializers.IntegerField(min_value=0, max_value=10, required=False, allow_null=True)


# What a customer may see of a public event: the state it moved between, never staff notes.
CUSTOMER_EVENT_KEYS = frozenset({"status", "source", "target", "follow_up"})


class CustomerEventSerializer(api.ModelSerializer):
    before = serializers.SerializerMethodField()
    after = serializers.SerializerMethodField()

    class Meta:
        model = TicketEvent
        fields = ["id", "kind", "before", "after", "created_at"]

    def get_before(self, event) -> dict:
        return {k: v for k, v in event.before.items() if k in CUSTOMER_EVENT_KEYS}

    def get_after(self, event) -> dict:
        return {k: v for k, v in event.after.items() if k in CUSTOMER_EVENT_KEYS}


class EventSerializer(api.ModelSerializer):
    actor = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = TicketEvent
        fields = ["id", "kind", "actor", "before", "after", "note", "created_at"]


class ResponseTemplateSerializer(api.ModelSerializer):
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = ResponseTemplate
        fields = [
            "id",
            "name",
            "channel",
            "subject",
            "body",
            "category",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_body(self, value):
        return _checked_template_text(value)

    def validate_subject(self, value):
        return _checked_template_text(value)


def _checked_template_text(value: str) -> str:
    try:
        validate_template_text(value)
    except DomainError as exc:
        raise serializers.ValidationError(exc.message, code=exc.code) from None
    return value


class RenderTemplateSerializer(api.Serializer):
    ticket = serializers.CharField(help_text="Id or number of the ticket to fill in.")


class RenderedTemplateSerializer(api.Serializer):
    subject = serializers.CharField()
    body = serializers.CharField()
