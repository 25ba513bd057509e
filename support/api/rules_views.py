"""`/api/v1/support/triggers/` and `automations/`: the rules editor's API (support leads)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.permissions import ActionPermissions, allows

from ..models.rules import Rule, RuleKind
from ..permissions import can_edit_rules
from ..rules import services
from ..rules.dry_run import dry_run, unsaved_rule
from . import rules_serializers as s
from .views import request_example

TRIGGER_EXAMPLE = {
    "name": "P0 for enterprise outages",
    "events": ["created"],
    "match": "all",
    "conditions": [
        {"field": "tier", "op": "is", "value": "enterprise"},
        {"field": "text", "op": "contains_any", "value": ["outage", "down"]},
    ],
    "actions": [
        {"type": "set_priority", "value": "urgent"},
        {"type": "add_tags", "value": ["outage"]},
    ],
    "enabled": False,
}
AUTOMATION_EXAMPLE = {
    "name": "Nudge after 3 quiet days",
    "anchor": "customer_last_reply_at",
    "after_minutes": 4320,
    "conditions": [{"field": "status", "op": "is", "value": "waiting_on_customer"}],
    "actions": [{"type": "add_tags", "value": ["nudged"]}],
}


class _RuleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    kind: str
    input_serializer: type
    serializer_class = s.RuleSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {"*": [allows(can_edit_rules)]}
    filter_backends: list = []

    def get_queryset(self):
        return Rule.objects.live().filter(kind=self.kind).in_order().select_related("author")

    def _data(self, serializer):
        return serializer.validated_data

    def create(self, request):
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = services.create_rule(by=request.user, kind=self.kind, data=dict(data.validated_data))
        return Response(s.RuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        rule = self.get_object()
        data = self.input_serializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        rule = services.update_rule(rule=rule, by=request.user, data=dict(data.validated_data))
        return Response(s.RuleSerializer(rule).data)

    def perform_destroy(self, instance):
        services.archive_rule(rule=instance, by=self.request.user)

    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        body = s.EnableSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rule = services.set_enabled(
            rule=self.get_object(), by=request.user, enabled=body.validated_data["enabled"]
        )
        return Response(s.RuleSerializer(rule).data)

    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        body = s.MoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rule = services.move_rule(
            rule=self.get_object(), by=request.user, direction=body.validated_data["direction"]
        )
        return Response(s.RuleSerializer(rule).data)

    def _dry_run(self, request, rule):
        body = s.DryRunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = dry_run(
            rule,
            by=request.user,
            days=body.validated_data["days"],
            event=body.validated_data.get("event"),
        )
        return Response(s.DryRunResultSerializer(result).data)

    @action(detail=True, methods=["post"], url_path="dry-run")
    def dry_run(self, request, pk=None):
        return self._dry_run(request, self.get_object())

    @action(detail=False, methods=["post"], url_path="preview")
    def preview(self, request):
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = unsaved_rule(kind=self.kind, data=dict(data.validated_data), by=request.user)
        return Response(s.DryRunResultSerializer(dry_run(rule, by=request.user)).data)

    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        rule = self.get_object()
        page = self.paginate_queryset(
            rule.history.select_related("actor").order_by("-created_at", "-pk")
        )
        return self.get_paginated_response(s.RuleEventSerializer(page, many=True).data)


def _schema(name: str, input_serializer, example: dict):
    return extend_schema_view(
        list=extend_schema(summary=f"{name}s in the order they run"),
        retrieve=extend_schema(summary=f"A {name.lower()}"),
        create=extend_schema(
            summary=f"A new {name.lower()} (acting with the caller's rights)",
            request=input_serializer,
            responses={201: s.RuleSerializer},
            examples=request_example(f"New {name.lower()}", example),
        ),
        partial_update=extend_schema(
            summary=f"Change a {name.lower()} (a new version; the caller becomes its author)",
            request=input_serializer,
            responses={200: s.RuleSerializer},
            examples=request_example("Rename", {"name": f"Renamed {name.lower()}"}),
        ),
        destroy=extend_schema(summary=f"Archive a {name.lower()} (its history stays)"),
        enable=extend_schema(
            summary="Enable or disable",
            request=s.EnableSerializer,
            responses={200: s.RuleSerializer},
            examples=request_example("Enable", {"enabled": True}),
        ),
        move=extend_schema(
            summary="Move one place up or down",
            request=s.MoveSerializer,
            responses={200: s.RuleSerializer},
            examples=request_example("Up", {"direction": "up"}),
        ),
        dry_run=extend_schema(
            summary="What it would do on recent tickets (nothing is written)",
            request=s.DryRunSerializer,
            responses={200: s.DryRunResultSerializer},
            examples=request_example("Last week", {"days": 7}),
        ),
        preview=extend_schema(
            summary=f"Dry-run an unsaved {name.lower()}",
            request=input_serializer,
            responses={200: s.DryRunResultSerializer},
            examples=request_example("Preview", example),
        ),
        history=extend_schema(
            summary="Every version and change, newest first",
            responses={200: s.RuleEventSerializer(many=True)},
        ),
    )


@_schema("Trigger", s.TriggerInputSerializer, TRIGGER_EXAMPLE)
class TriggerViewSet(_RuleViewSet):
    """Triggers: ordered rules run on ticket events."""

    kind = RuleKind.TRIGGER
    input_serializer = s.TriggerInputSerializer


@_schema("Automation", s.AutomationInputSerializer, AUTOMATION_EXAMPLE)
class AutomationViewSet(_RuleViewSet):
    """Automations: rules run by the beat job on tickets whose time has come."""

    kind = RuleKind.AUTOMATION
    input_serializer = s.AutomationInputSerializer
