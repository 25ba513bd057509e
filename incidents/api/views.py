"""The incidents API (`/api/v1/incidents/`): staff run incidents; leads shape the components.

Views translate HTTP to `incidents.services` calls; the rules live there.
"""

import re
from datetime import timedelta

import django_filters
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from core.api.pagination import UncountedPageNumberPagination
from core.api.permissions import ActionPermissions, allows
from core.inputs import ID_PATTERN, as_utc, parse_id

from .. import articles as kb
from .. import services
from .. import tickets as linked
from ..metrics import incident_metrics
from ..models import Category, Component, Maintenance, Severity, Status
from ..permissions import can_manage_components, can_run, can_see_incidents
from ..selectors import incidents_with_details
from . import serializers as s

# A metrics answer stays small: at most about 400 periods of four severities.
METRICS_MAX_DAYS = {"day": 400, "week": 2800, "month": 12000}
INCIDENT_NUMBER = re.compile(r"[Ii][Nn][Cc]-[0-9]{8}-[0-9]+")
INCIDENT_REF = rf"(?:{ID_PATTERN}|{INCIDENT_NUMBER.pattern})"

# The seed's create example (issue 13), in the API's own spelling: snake_case keys and values,
# the commander and team by id (agent 7 and team 2 of the examples' world).
INCIDENT_EXAMPLE = OpenApiExample(
    "API outage",
    value={
        "title": "API Service Outage",
        "description": "Main API service is returning 503 errors",
        "severity": "critical",
        "category": "outage",
        "impact": "widespread",
        "affected_systems": ["api-service", "data-service"],
        "affected_services": ["lead-routing", "agent-matching"],
        "affected_customers": 150,
        "commander": 7,
        "team": 2,
        "reported_by": "monitoring-system",
    },
    request_only=True,
)


def request_example(name: str, value: dict) -> list[OpenApiExample]:
    return [OpenApiExample(name, value=value, request_only=True)]


class IncidentFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices)
    category = django_filters.ChoiceFilter(choices=Category.choices)
    active = django_filters.BooleanFilter(method="filter_active", help_text="Not yet resolved.")

    def filter_active(self, queryset, name, value):
        from ..models import ACTIVE_STATUSES

        if value is None:
            return queryset
        if value:
            return queryset.filter(status__in=ACTIVE_STATUSES)
        return queryset.exclude(status__in=ACTIVE_STATUSES)


def _lookup(queryset, ref: str):
    pk = parse_id(ref)
    if pk is not None:
        return get_object_or_404(queryset, pk=pk)
    if not INCIDENT_NUMBER.fullmatch(ref):
        raise Http404
    return get_object_or_404(queryset, number=ref.upper())


def _components(validated) -> dict | None:
    items = validated.pop("components", None)
    if items is None:
        return None
    return {item["component"]: item["state"] for item in items}


@extend_schema_view(
    list=extend_schema(summary="List incidents (staff), newest first"),
    retrieve=extend_schema(summary="An incident by id or number (staff)"),
)
class IncidentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    lookup_value_regex = INCIDENT_REF
    filterset_class = IncidentFilter
    pagination_class = UncountedPageNumberPagination
    serializer_class = s.IncidentSerializer
    permission_classes = [ActionPermissions]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    action_permissions = {
        "list": [allows(can_see_incidents)],
        "retrieve": [allows(can_see_incidents)],
        "create": [allows(can_run)],
        "partial_update": [allows(can_run)],
        "updates": [allows(can_run)],
        "acknowledge": [allows(can_run)],
        "transition": [allows(can_run)],
        "tickets": [allows(can_run)],
        "unlink_tickets": [allows(can_run)],
        "metrics": [allows(can_see_incidents)],
        "postmortem": [allows(can_run)],
        "postmortem_article": [allows(can_run)],
        "articles": [allows(can_run)],
        "unlink_article": [allows(can_run)],
    }

    def get_throttles(self):
        self.throttle_scope = "create" if self.action == "create" else None
        return super().get_throttles()

    def get_queryset(self):
        return incidents_with_details()

    def get_object(self):
        incident = _lookup(self.get_queryset(), self.kwargs["pk"])
        self.check_object_permissions(self.request, incident)
        return incident

    def _detail(self, incident, code=status.HTTP_200_OK):
        fresh = incidents_with_details().get(pk=incident.pk)
        return Response(s.IncidentSerializer(fresh).data, status=code)

    @extend_schema(
        summary="Declare an incident (staff); numbered INC-YYYYMMDD-NNNN",
        request=s.IncidentWriteSerializer,
        responses={201: s.IncidentSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        examples=[INCIDENT_EXAMPLE],
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        data = s.IncidentWriteSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        components = _components(values)
        if values.get("detected_at"):
            values["detected_at"] = as_utc(values["detected_at"])
        incident = services.create_incident(by=request.user, components=components, **values)
        return self._detail(incident, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change an incident (staff); a new severity moves its targets",
        request=s.IncidentWriteSerializer(partial=True),
        responses={200: s.IncidentSerializer},
        examples=request_example(
            "Wider impact",
            {"impact": "major", "components": [{"component": 1, "state": "partial_outage"}]},
        ),
    )
    def partial_update(self, request, *args, **kwargs):
        incident = self.get_object()
        data = s.IncidentWriteSerializer(
            data=request.data, partial=True, context={"request": request}
        )
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        components = _components(values)
        if "detected_at" in values:
            raise ValidationError({"detected_at": ["Set when the incident is declared."]})
        with transaction.atomic():
            if values:
                incident = services.update_incident(incident=incident, by=request.user, **values)
            if components is not None:
                services.set_components(incident=incident, by=request.user, states=components)
        return self._detail(incident)

    @extend_schema(
        methods=["GET"],
        summary="The timeline, newest first (public and internal entries)",
        responses={200: s.IncidentUpdateSerializer(many=True)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Add a timeline entry: internal unless is_public",
        request=s.IncidentUpdateCreateSerializer,
        responses={201: s.IncidentUpdateSerializer},
        examples=request_example(
            "Public update", {"body": "We are rolling back the release.", "is_public": True}
        )
        + request_example("Internal note", {"body": "Pool exhausted on db-2.", "is_public": False}),
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def updates(self, request, pk=None):
        incident = self.get_object()
        if request.method == "GET":
            paginator = UncountedPageNumberPagination()
            queryset = incident.updates.select_related("author").order_by("-created_at", "-pk")
            page = paginator.paginate_queryset(queryset, request, view=self)
            return paginator.get_paginated_response(
                s.IncidentUpdateSerializer(page, many=True).data
            )
        data = s.IncidentUpdateCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        update = services.post_update(
            incident=incident,
            by=request.user,
            body=data.validated_data["body"],
            public=data.validated_data["is_public"],
        )
        return Response(s.IncidentUpdateSerializer(update).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Acknowledge: take it, as commander or naming one (once)",
        request=s.AcknowledgeSerializer,
        responses={200: s.IncidentSerializer},
        examples=request_example("I take it", {})
        + request_example("Name a commander", {"commander": 7}),
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def acknowledge(self, request, pk=None):
        incident = self.get_object()
        data = s.AcknowledgeSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        incident = services.acknowledge(
            incident=incident, by=request.user, commander=data.validated_data.get("commander")
        )
        return self._detail(incident)

    @extend_schema(
        summary="Move to another status (409 lists the allowed ones)",
        request=s.IncidentTransitionSerializer,
        responses={200: s.IncidentSerializer},
        examples=request_example(
            "Cause found",
            {"status": "identified", "message": "A bad deploy; rolling back.", "is_public": True},
        ),
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def transition(self, request, pk=None):
        incident = self.get_object()
        data = s.IncidentTransitionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = services.change_status(
            incident=incident,
            by=request.user,
            to=data.validated_data["status"],
            message=data.validated_data["message"],
            public=data.validated_data["is_public"],
        )
        return self._detail(incident)

    @extend_schema(
        methods=["GET"],
        summary="Linked tickets",
        responses={200: s.LinkedTicketSerializer(many=True)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Link tickets (one or many; linking twice is harmless)",
        request=s.TicketRefsSerializer,
        responses={200: s.TicketLinkResultSerializer},
        examples=request_example(
            "Link two", {"tickets": ["TKT-20261125-0042", "TKT-20261124-0007"]}
        ),
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def tickets(self, request, pk=None):
        incident = self.get_object()
        if request.method == "GET":
            paginator = UncountedPageNumberPagination()
            queryset = incident.ticket_links.select_related("ticket").order_by("-linked_at", "-pk")
            page = paginator.paginate_queryset(queryset, request, view=self)
            return paginator.get_paginated_response(s.LinkedTicketSerializer(page, many=True).data)
        data = s.TicketRefsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changed = linked.link_tickets(
            incident=incident, by=request.user, tickets=data.validated_data["tickets"]
        )
        return self._link_result(incident, changed)

    @extend_schema(
        summary="Unlink tickets",
        request=s.TicketRefsSerializer,
        responses={200: s.TicketLinkResultSerializer},
        examples=request_example("Unlink one", {"tickets": ["TKT-20261125-0042"]}),
    )
    @action(detail=True, methods=["post"], url_path="tickets/unlink", filter_backends=[])
    def unlink_tickets(self, request, pk=None):
        incident = self.get_object()
        data = s.TicketRefsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changed = linked.unlink_tickets(
            incident=incident, by=request.user, tickets=data.validated_data["tickets"]
        )
        return self._link_result(incident, changed)

    @extend_schema(
        methods=["GET"],
        summary="The post-mortem (404 until one is written)",
        responses={200: s.PostMortemReadSerializer},
    )
    @extend_schema(
        methods=["PUT"],
        summary="Write the post-mortem; complete it once resolved (needed to close critical "
        "and high incidents)",
        request=s.PostMortemSerializer,
        responses={200: s.PostMortemReadSerializer},
        examples=request_example(
            "Draft with an action",
            {
                "summary": "Exports failed for two hours after a release.",
                "root_cause": "A migration locked the exports table.",
                "action_items": [{"description": "Lint migrations for locks", "owner": 7}],
            },
        ),
    )
    @action(detail=True, methods=["get", "put"], filter_backends=[])
    def postmortem(self, request, pk=None):
        incident = self.get_object()
        if request.method == "GET":
            postmortem = getattr(incident, "postmortem", None)
            if postmortem is None:
                raise Http404
            return Response(s.PostMortemReadSerializer(postmortem).data)
        data = s.PostMortemSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        postmortem = services.save_postmortem(
            incident=incident,
            by=request.user,
            actions=values.pop("action_items", None),
            complete=values.pop("complete", None),
            **values,
        )
        return Response(s.PostMortemReadSerializer(postmortem).data)

    @extend_schema(
        summary="Draft a known-issue article from the completed post-mortem (once: asked again, "
        "the same draft, 200)",
        request=None,
        responses={201: s.DraftedArticleSerializer, 200: s.DraftedArticleSerializer},
    )
    @action(detail=True, methods=["post"], url_path="postmortem/article", filter_backends=[])
    def postmortem_article(self, request, pk=None):
        incident = self.get_object()
        article, created = kb.draft_known_issue(incident=incident, by=request.user)
        body = s.DraftedArticleSerializer(
            {
                "id": article.pk,
                "number": article.number,
                "title": article.title,
                "status": article.status,
                "is_internal": article.is_internal,
                "created": created,
            }
        ).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        methods=["GET"],
        summary="Linked knowledge-base articles",
        responses={200: s.LinkedArticleSerializer(many=True)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Link an article (linking twice is harmless)",
        request=s.ArticleRefSerializer,
        responses={200: s.ArticleLinkResultSerializer},
        examples=request_example("Link one", {"article": "KB-00001"}),
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def articles(self, request, pk=None):
        incident = self.get_object()
        if request.method == "GET":
            paginator = UncountedPageNumberPagination()
            queryset = kb.linked_articles(incident)
            page = paginator.paginate_queryset(queryset, request, view=self)
            return paginator.get_paginated_response(s.LinkedArticleSerializer(page, many=True).data)
        data = s.ArticleRefSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _, changed = kb.link_article(
            incident=incident, by=request.user, article=data.validated_data["article"]
        )
        return self._article_result(incident, changed)

    @extend_schema(
        summary="Unlink an article",
        request=s.ArticleRefSerializer,
        responses={200: s.ArticleLinkResultSerializer},
        examples=request_example("Unlink one", {"article": "KB-00001"}),
    )
    @action(detail=True, methods=["post"], url_path="articles/unlink", filter_backends=[])
    def unlink_article(self, request, pk=None):
        incident = self.get_object()
        data = s.ArticleRefSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changed = kb.unlink_article(
            incident=incident, by=request.user, article=data.validated_data["article"]
        )
        return self._article_result(incident, changed)

    def _article_result(self, incident, changed):
        links = kb.linked_articles(incident).order_by("linked_at", "pk")[:100]
        return Response(s.ArticleLinkResultSerializer({"changed": changed, "articles": links}).data)

    @extend_schema(
        summary="MTTA and MTTR by severity and period (UTC), from detection",
        parameters=[s.MetricsQuerySerializer],
        responses={200: s.MetricsSerializer},
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def metrics(self, request):
        query = s.MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = query.validated_data["period"]
        until = as_utc(query.validated_data.get("until") or timezone.now())
        since = as_utc(query.validated_data.get("since") or until - timedelta(days=365))
        if since >= until:
            raise ValidationError({"since": ["Must be before until."]})
        if (until - since).days > METRICS_MAX_DAYS[period]:
            raise ValidationError(
                {"since": [f"At most {METRICS_MAX_DAYS[period]} days by {period}."]}
            )
        rows = incident_metrics(period=period, since=since, until=until)
        body = {"period": period, "since": since, "until": until, "rows": rows}
        return Response(s.MetricsSerializer(body).data)

    def _link_result(self, incident, changed):
        count = linked.open_linked_tickets(incident).count()
        return Response(
            s.TicketLinkResultSerializer({"changed": changed, "open_ticket_count": count}).data
        )


@extend_schema_view(
    list=extend_schema(summary="Status page components (staff)"),
    retrieve=extend_schema(summary="A component (staff)"),
)
class ComponentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """A component's state is the worst its active incidents put it in; it is not set here."""

    queryset = Component.objects.order_by("group", "order", "name", "pk")
    serializer_class = s.ComponentSerializer
    lookup_value_regex = ID_PATTERN
    pagination_class = UncountedPageNumberPagination
    permission_classes = [ActionPermissions]
    http_method_names = ["get", "post", "patch", "head", "options"]
    action_permissions = {
        "list": [allows(can_see_incidents)],
        "retrieve": [allows(can_see_incidents)],
        "create": [allows(can_manage_components)],
        "partial_update": [allows(can_manage_components)],
    }

    @extend_schema(
        summary="Add a component (support leads)",
        request=s.ComponentWriteSerializer,
        responses={201: s.ComponentSerializer},
        examples=request_example("Billing", {"name": "Billing", "group": "Platform", "order": 3}),
    )
    def create(self, request, *args, **kwargs):
        data = s.ComponentWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        component = services.create_component(by=request.user, **data.validated_data)
        return Response(s.ComponentSerializer(component).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Rename, regroup or reorder a component (support leads)",
        request=s.ComponentWriteSerializer(partial=True),
        responses={200: s.ComponentSerializer},
        examples=request_example("Move it first", {"order": 0}),
    )
    def partial_update(self, request, *args, **kwargs):
        component = self.get_object()
        data = s.ComponentWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        component = services.update_component(
            component=component, by=request.user, **data.validated_data
        )
        return Response(s.ComponentSerializer(component).data)


@extend_schema_view(
    list=extend_schema(summary="Maintenance windows, latest first (staff)"),
    retrieve=extend_schema(summary="A maintenance window (staff)"),
)
class MaintenanceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Maintenance.objects.prefetch_related("components").order_by("-starts_at", "-pk")
    serializer_class = s.MaintenanceSerializer
    lookup_value_regex = ID_PATTERN
    pagination_class = UncountedPageNumberPagination
    permission_classes = [ActionPermissions]
    http_method_names = ["get", "post", "head", "options"]
    action_permissions = {
        "list": [allows(can_see_incidents)],
        "retrieve": [allows(can_see_incidents)],
        "create": [allows(can_manage_components)],
        "cancel": [allows(can_manage_components)],
        "updates": [allows(can_see_incidents)],
    }

    @extend_schema(
        summary="Plan a maintenance window (support leads)",
        request=s.MaintenanceWriteSerializer,
        responses={201: s.MaintenanceSerializer},
        examples=request_example(
            "Database upgrade",
            {
                "title": "Database upgrade",
                "starts_at": "2030-01-05T02:00:00Z",
                "ends_at": "2030-01-05T03:00:00Z",
                "components": [1],
            },
        ),
    )
    def create(self, request, *args, **kwargs):
        data = s.MaintenanceWriteSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["starts_at"] = as_utc(values["starts_at"])
        values["ends_at"] = as_utc(values["ends_at"])
        maintenance = services.schedule_maintenance(by=request.user, **values)
        fresh = self.get_queryset().get(pk=maintenance.pk)
        return Response(s.MaintenanceSerializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Cancel a maintenance window that has not ended",
        request=None,
        responses={200: s.MaintenanceSerializer},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def cancel(self, request, pk=None):
        maintenance = self.get_object()
        services.cancel_maintenance(maintenance=maintenance, by=request.user)
        fresh = self.get_queryset().get(pk=maintenance.pk)
        return Response(s.MaintenanceSerializer(fresh).data)

    @extend_schema(
        methods=["GET"],
        summary="A window's updates, newest first (staff)",
        responses={200: s.MaintenanceUpdateSerializer(many=True)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Post a public update on a window (support leads): status page and subscribers",
        request=s.MaintenanceUpdateCreateSerializer,
        responses={201: s.MaintenanceUpdateSerializer},
        examples=request_example("Started", {"body": "The upgrade has started."}),
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def updates(self, request, pk=None):
        maintenance = self.get_object()
        if request.method == "GET":
            paginator = UncountedPageNumberPagination()
            queryset = maintenance.updates.select_related("author").order_by("-created_at", "-pk")
            page = paginator.paginate_queryset(queryset, request, view=self)
            return paginator.get_paginated_response(
                s.MaintenanceUpdateSerializer(page, many=True).data
            )
        data = s.MaintenanceUpdateCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        update = services.post_maintenance_update(
            maintenance=maintenance, by=request.user, body=data.validated_data["body"]
        )
        return Response(s.MaintenanceUpdateSerializer(update).data, status=status.HTTP_201_CREATED)
