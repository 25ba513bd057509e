"""The support REST API. Views translate HTTP to service calls; the rules live in services."""

import re

from django.db.models import Count, Q, prefetch_related_objects
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import parsers
from core.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent, run_idempotently
from core.api.pagination import UncountedPageNumberPagination
from core.api.permissions import ActionPermissions, IsAuthenticatedUser, allows
from core.attachments import file_response
from core.inputs import ID_PATTERN, parse_id
from core.roles import is_staff_member
from core.sanitize import text_to_html

from .. import services, templating
from ..models import AgentProfile, Category, ResponseTemplate, Tag, Team, Ticket
from ..models.choices import ACTIVE_STATUSES, Status
from ..permissions import (
    can_assign,
    can_change_status,
    can_claim,
    can_close,
    can_edit,
    can_edit_teams,
    can_edit_templates,
    can_link,
    can_merge,
    can_rate,
    can_reply,
    can_see_agents,
    can_see_internal,
    can_use_templates,
    can_work,
)
from ..selectors import (
    attach_unread_counts,
    attachments_for,
    messages_for,
    tickets_for,
    with_number,
)
from . import serializers as s
from .filters import DEFAULT_ORDERING, TicketFilter

ERROR_RESPONSES = {
    400: OpenApiResponse(description="Invalid input: `{detail, code, errors}`"),
    404: OpenApiResponse(description="Not found, or not yours"),
    409: OpenApiResponse(
        description="Refused by the ticket's state; `allowed` lists the possible targets",
        examples=[
            OpenApiExample(
                "Refused transition",
                value={
                    "detail": "A ticket cannot go from closed to open. Allowed: none.",
                    "code": "invalid_transition",
                    "errors": {},
                    "status": "closed",
                    "allowed": [],
                },
            )
        ],
    ),
}


# A ticket in a path: its id or its number (`TKT-20261125-0042`, any letter case).
TICKET_NUMBER = re.compile(r"[A-Za-z]{3}-[0-9]{8}-[0-9]+")
TICKET_REF = rf"(?:{ID_PATTERN}|{TICKET_NUMBER.pattern})"


def for_caller(name: str, staff, customer, **kwargs) -> PolymorphicProxySerializer:
    """One of two shapes, chosen by the caller's role: staff see more than customers.

    The schema is the same whoever fetches it; every response component is closed
    (`core.api.schema`), so an object matches exactly one of the two.
    """
    return PolymorphicProxySerializer(
        component_name=name,
        serializers=[staff, customer],
        resource_type_field_name=None,
        **kwargs,
    )


TICKET_FOR_CALLER = for_caller(
    "TicketForCaller", s.TicketDetailSerializer, s.CustomerTicketSerializer
)
TICKET_LIST_ITEM_FOR_CALLER = for_caller(
    "TicketListItemForCaller", s.TicketListSerializer, s.CustomerTicketSerializer, many=True
)
EVENT_FOR_CALLER = for_caller(
    "EventForCaller", s.EventSerializer, s.CustomerEventSerializer, many=True
)

MESSAGE_FOR_CALLER = for_caller("MessageForCaller", s.StaffMessageSerializer, s.MessageSerializer)
MESSAGES_FOR_CALLER = for_caller(
    "MessageForCaller", s.StaffMessageSerializer, s.MessageSerializer, many=True
)


class TicketPagination(UncountedPageNumberPagination):
    """Ticket lists never count the (possibly million-row) filtered set."""


def _ticket_lookup(queryset, value: str) -> Ticket:
    """A ticket by id or number; anything else (or out of reach) is a 404."""
    pk = parse_id(value)
    if pk is not None:
        return get_object_or_404(queryset, pk=pk)
    if not TICKET_NUMBER.fullmatch(value):
        raise Http404
    return get_object_or_404(with_number(queryset, value))


def request_example(name: str, value: dict) -> list[OpenApiExample]:
    return [OpenApiExample(name, value=value, request_only=True)]


TICKET_EXAMPLE = OpenApiExample(
    "New ticket",
    value={
        "subject": "Export to CSV never finishes",
        "description": "<p>Since this morning the export spins for ever.</p>",
        "category": "technical",
        "priority": "high",
        "tags": ["export"],
    },
    request_only=True,
)


@extend_schema_view(
    list=extend_schema(
        summary="List tickets",
        responses={200: TICKET_LIST_ITEM_FOR_CALLER},
        description="The caller's tickets: customers their own, agents their teams' and "
        "unassigned, leads all. Staff get the queue's shape, customers their own.",
    ),
    retrieve=extend_schema(summary="A ticket by id or number", responses={200: TICKET_FOR_CALLER}),
    partial_update=extend_schema(
        summary="Change subject, category, team, tags, channel or priority (staff)",
        request=s.TicketUpdateSerializer,
        responses={200: TICKET_FOR_CALLER, **ERROR_RESPONSES},
    ),
)
class TicketViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    lookup_value_regex = TICKET_REF
    filterset_class = TicketFilter
    pagination_class = TicketPagination
    permission_classes = [ActionPermissions]
    http_method_names = ["get", "post", "patch", "head", "options"]
    action_permissions = {
        "list": [IsAuthenticatedUser],
        "retrieve": [IsAuthenticatedUser],
        "create": [IsAuthenticatedUser],
        "messages": [allows(can_reply)],
        "attachments": [IsAuthenticatedUser],
        "download": [IsAuthenticatedUser],
        "rate": [allows(can_rate)],
        "close": [allows(can_close)],
        "cancel": [allows(can_change_status)],
        "reopen": [allows(can_change_status)],
        "change_status": [allows(can_change_status)],
        "partial_update": [allows(can_edit)],
        "assign": [allows(can_assign)],
        "claim": [allows(can_claim)],
        "resolve": [allows(can_work)],
        "wait_on_customer": [allows(can_work)],
        "merge": [allows(can_merge)],
        "link": [allows(can_link)],
        "events": [IsAuthenticatedUser],
    }

    def get_throttles(self):
        self.throttle_scope = "create" if self.action == "create" else None
        return super().get_throttles()

    def get_queryset(self):
        if self.action in ("list", "retrieve", "partial_update"):
            return tickets_for(self.request.user)
        # Sub-resources and actions need the ticket row only.
        return Ticket.objects.visible_to(self.request.user)

    def filter_queryset(self, queryset):
        # The filter set's `ordering` replaces this default when given.
        return super().filter_queryset(queryset.order_by(*DEFAULT_ORDERING))

    def get_object(self):
        ticket = _ticket_lookup(self.get_queryset(), self.kwargs["pk"])
        self.check_object_permissions(self.request, ticket)
        attach_unread_counts([ticket], self.request.user)
        return ticket

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        attach_unread_counts(page, self.request.user)
        return page

    def get_serializer_class(self):
        if not can_see_internal(self.request.user):
            return s.CustomerTicketSerializer
        if self.action == "list":
            return s.TicketListSerializer
        return s.TicketDetailSerializer

    def _detail(self, ticket, code=status.HTTP_200_OK):
        ticket = tickets_for(self.request.user).get(pk=ticket.pk)
        attach_unread_counts([ticket], self.request.user)
        return Response(self.get_serializer(ticket).data, status=code)

    @extend_schema(
        summary="Open a ticket",
        request=s.TicketCreateSerializer,
        responses={201: TICKET_FOR_CALLER, **ERROR_RESPONSES},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        examples=[TICKET_EXAMPLE],
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        data = s.TicketCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        ticket = services.create_ticket(by=request.user, **data.validated_data)
        # Answer from the instance just written rather than reading it back (fewer statements
        # per creation); only its tags are not in memory.
        if data.validated_data.get("tags"):
            prefetch_related_objects([ticket], "tags")
        else:
            ticket._prefetched_objects_cache = {"tags": Tag.objects.none()}
        ticket.unread_count = 0
        return Response(self.get_serializer(ticket).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        ticket = self.get_object()
        data = s.TicketUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        priority = changes.pop("priority", None)
        if changes:
            services.update_ticket(ticket=ticket, by=request.user, **changes)
        if priority:
            services.change_priority(ticket=ticket, by=request.user, priority=priority)
        return self._detail(ticket)

    # --- conversation -------------------------------------------------------------------

    @extend_schema(
        methods=["GET"],
        summary="The conversation, oldest first (customers never see internal notes)",
        responses={200: MESSAGES_FOR_CALLER},
    )
    @extend_schema(
        methods=["POST"],
        summary="Reply, or add an internal note (staff); multipart for files",
        request={
            "application/json": s.MessageCreateSerializer,
            "multipart/form-data": s.MessageCreateSerializer,
        },
        responses={201: MESSAGE_FOR_CALLER, **ERROR_RESPONSES},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        examples=request_example(
            "Public reply", {"body": "<p>We deployed a fix. Could you try again?</p>"}
        )
        + request_example("Internal note", {"body": "Same root cause as INC-42.", "internal": True})
        + request_example("Canned response", {"template": 3}),
    )
    @action(
        detail=True,
        methods=["get", "post"],
        parser_classes=[parsers.JSONParser, parsers.MultiPartParser, parsers.FormParser],
        filter_backends=[],
    )
    def messages(self, request, pk=None):
        ticket = self.get_object()
        staff = can_see_internal(request.user, ticket)
        serializer_class = s.StaffMessageSerializer if staff else s.MessageSerializer
        if request.method == "GET":
            page = self._paginated(messages_for(ticket=ticket, user=request.user))
            services.mark_ticket_read(ticket=ticket, user=request.user)
            return page(serializer_class)
        return run_idempotently(request, lambda: self._post_message(request, ticket, staff))

    def _paginated(self, queryset):
        """One page of a sub-resource; returns `respond(serializer_class)`."""
        paginator = UncountedPageNumberPagination()
        page = paginator.paginate_queryset(queryset, self.request, view=self)

        def respond(serializer_class):
            data = serializer_class(page, many=True, context={"request": self.request}).data
            return paginator.get_paginated_response(data)

        return respond

    def _post_message(self, request, ticket, staff):
        data = s.MessageCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data["body"]
        template = data.validated_data.get("template")
        if template is not None:
            can_use_templates.require(request.user)
            context = templating.context_for(ticket=ticket, agent=request.user)
            body = text_to_html(templating.render(template.body, context))
        message = services.add_message(
            ticket=ticket,
            by=request.user,
            body=body,
            internal=data.validated_data["internal"],
            attachments=data.validated_data["files"],
        )
        serializer_class = s.StaffMessageSerializer if staff else s.MessageSerializer
        message = messages_for(ticket=message.ticket, user=request.user).get(pk=message.pk)
        return Response(
            serializer_class(message, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Files of the ticket, oldest first",
        responses={200: s.AttachmentSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def attachments(self, request, pk=None):
        ticket = self.get_object()
        files = attachments_for(ticket=ticket, user=request.user).order_by("pk")
        return self._paginated(files)(s.AttachmentSerializer)

    @extend_schema(
        summary="Download a file (a short-lived signed URL on S3)",
        responses={
            (200, "*/*"): OpenApiResponse(description="The file, with its own content type"),
            302: OpenApiResponse(description="Redirect to a signed URL"),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=rf"attachments/(?P<attachment_id>{ID_PATTERN})/download",
        filter_backends=[],
    )
    def download(self, request, pk=None, attachment_id=None):
        ticket = self.get_object()
        attachment = get_object_or_404(
            attachments_for(ticket=ticket, user=request.user), pk=attachment_id
        )
        return file_response(
            attachment.file.storage,
            attachment.file.name,
            filename=attachment.original_name,
            content_type=attachment.content_type,
        )

    @extend_schema(
        summary="Audit trail, oldest first (customers see public events only)",
        responses={200: EVENT_FOR_CALLER},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def events(self, request, pk=None):
        ticket = self.get_object()
        queryset = ticket.events.select_related("actor").order_by("created_at", "pk")
        if not can_see_internal(request.user, ticket):
            return self._paginated(queryset.filter(is_internal=False))(s.CustomerEventSerializer)
        return self._paginated(queryset)(s.EventSerializer)

    # --- lifecycle ----------------------------------------------------------------------

    def _transition(self, request, to):
        ticket = self.get_object()
        data = s.TransitionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.change_status(
            ticket=ticket, to=to, by=request.user, note=data.validated_data["note"]
        )
        return self._detail(ticket)

    @extend_schema(
        summary="Move to any allowed status",
        request=s.StatusChangeSerializer,
        responses={200: TICKET_FOR_CALLER, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request, pk=None):
        data = s.StatusChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = self.get_object()
        services.change_status(
            ticket=ticket,
            to=data.validated_data["status"],
            by=request.user,
            note=data.validated_data["note"],
        )
        return self._detail(ticket)

    @extend_schema(
        summary="Resolve (staff)",
        request=s.TransitionSerializer,
        responses={200: TICKET_FOR_CALLER, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        return self._transition(request, Status.RESOLVED)

    @extend_schema(
        summary="Close a resolved ticket (the customer confirms)",
        request=s.TransitionSerializer,
        responses={200: TICKET_FOR_CALLER, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._transition(request, Status.CLOSED)

    @extend_schema(
        summary="Reopen a resolved ticket",
        request=s.TransitionSerializer,
        responses={200: TICKET_FOR_CALLER, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._transition(request, Status.IN_PROGRESS)

    @extend_schema(
        summary="Cancel",
        request=s.TransitionSerializer,
        responses={200: TICKET_FOR_CALLER, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._transition(request, Status.CANCELLED)

    @extend_schema(
        summary="Wait on the customer (pauses the resolution clock)",
        request=s.TransitionSerializer,
        responses={200: TICKET_FOR_CALLER, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"], url_path="wait-on-customer")
    def wait_on_customer(self, request, pk=None):
        return self._transition(request, Status.WAITING_ON_CUSTOMER)

    # --- assignment, merge, links, rating -------------------------------------------------

    @extend_schema(
        summary="Assign to an agent, or unassign with null",
        request=s.AssignSerializer,
        responses={200: TICKET_FOR_CALLER, **ERROR_RESPONSES},
        examples=request_example("Assign with a note", {"agent": 7, "note": "You know this client"})
        + request_example("Unassign", {"agent": None}),
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        ticket = self.get_object()
        data = s.AssignSerializer(data=request.data, context={"request": request, "ticket": ticket})
        data.is_valid(raise_exception=True)
        agent, note = data.validated_data["agent"], data.validated_data["note"]
        if agent is None:
            services.unassign_ticket(ticket=ticket, by=request.user, note=note)
        else:
            services.assign_ticket(ticket=ticket, agent=agent, by=request.user, note=note)
        return self._detail(ticket)

    @extend_schema(
        summary="Take an unassigned ticket",
        request=None,
        responses={200: TICKET_FOR_CALLER, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        ticket = self.get_object()
        services.claim_ticket(ticket=ticket, by=request.user)
        return self._detail(ticket)

    @extend_schema(
        summary="Merge this ticket into another of the same customer",
        request=s.MergeSerializer,
        responses={200: TICKET_FOR_CALLER, **ERROR_RESPONSES},
        examples=request_example("Merge", {"into": "TKT-20261125-0042", "note": "Same outage"}),
    )
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        source = self.get_object()
        data = s.MergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target = _ticket_lookup(self.get_queryset(), data.validated_data["into"])
        target = services.merge_tickets(
            source=source, target=target, by=request.user, note=data.validated_data["note"]
        )
        return self._detail(target)

    @extend_schema(
        summary="Link a related ticket",
        request=s.LinkSerializer,
        responses={200: TICKET_FOR_CALLER, **ERROR_RESPONSES},
        examples=request_example("Link", {"ticket": "TKT-20261124-0007"}),
    )
    @action(detail=True, methods=["post"])
    def link(self, request, pk=None):
        source = self.get_object()
        data = s.LinkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target = _ticket_lookup(self.get_queryset(), data.validated_data["ticket"])
        services.link_tickets(source=source, target=target, by=request.user)
        return self._detail(source)

    @extend_schema(
        summary="Rate the answer (the customer, once resolved)",
        request=s.RateSerializer,
        responses={200: TICKET_FOR_CALLER, **ERROR_RESPONSES},
        examples=request_example("Rating", {"rating": 5, "comment": "Quick!", "nps_score": 9}),
    )
    @action(detail=True, methods=["post"])
    def rate(self, request, pk=None):
        ticket = self.get_object()
        data = s.RateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.rate_ticket(ticket=ticket, by=request.user, **data.validated_data)
        return self._detail(ticket)


class CategoryViewSet(viewsets.ModelViewSet):
    serializer_class = s.CategorySerializer
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": [IsAuthenticatedUser],
        "retrieve": [IsAuthenticatedUser],
        "*": [allows(can_edit_teams)],
    }
    http_method_names = ["get", "post", "patch", "head", "options"]
    lookup_field = "slug"

    def get_queryset(self):
        queryset = Category.objects.all()
        if not is_staff_member(self.request.user):
            queryset = queryset.filter(is_active=True)
        return queryset


class TeamViewSet(viewsets.ModelViewSet):
    serializer_class = s.TeamSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": [allows(can_see_agents)],
        "retrieve": [allows(can_see_agents)],
        "*": [allows(can_edit_teams)],
    }
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = Team.objects.prefetch_related("members", "categories")


class AgentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Agents with status, capacity, skills and current load. Agents change their own status."""

    serializer_class = s.AgentSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {"*": [allows(can_see_agents)]}
    http_method_names = ["get", "patch", "head", "options"]
    lookup_field = "user_id"

    def get_queryset(self):
        return (
            AgentProfile.objects.select_related("user")
            .prefetch_related("skills")
            .annotate(
                active_tickets=Count(
                    "user__assigned_tickets",
                    filter=Q(user__assigned_tickets__status__in=ACTIVE_STATUSES),
                )
            )
            .order_by("user__full_name", "pk")
        )

    def perform_update(self, serializer):
        # Who may change what is the service's rule (support.permissions).
        services.update_agent_profile(
            profile=serializer.instance, by=self.request.user, **serializer.validated_data
        )


class ResponseTemplateViewSet(viewsets.ModelViewSet):
    serializer_class = s.ResponseTemplateSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": [allows(can_use_templates)],
        "retrieve": [allows(can_use_templates)],
        "render": [allows(can_use_templates)],
        "*": [allows(can_edit_templates)],
    }
    queryset = ResponseTemplate.objects.select_related("category")

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)

    @extend_schema(
        summary="Fill a template in for a ticket",
        request=s.RenderTemplateSerializer,
        responses={200: s.RenderedTemplateSerializer, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    def render(self, request, pk=None):
        template = self.get_object()
        data = s.RenderTemplateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = _ticket_lookup(tickets_for(request.user), data.validated_data["ticket"])
        context = templating.context_for(ticket=ticket, agent=request.user)
        return Response(
            {
                "subject": templating.render(template.subject, context),
                "body": templating.render(template.body, context),
            }
        )
