"""AI assist endpoints under /api/v1/ai/."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import ActionPermissions, allows
from support.api.views import ERROR_RESPONSES, _ticket_lookup
from support.selectors import tickets_for

from .. import suggestions
from ..permissions import can_see_suggestions
from . import serializers as s


class TicketSuggestionsView(APIView):
    permission_classes = [ActionPermissions]
    action_permissions = {"get": [allows(can_see_suggestions)]}

    @extend_schema(
        summary="Category, team and priority suggestions for a ticket (staff)",
        description="From the active models only (each beat its baselines on held-out "
        "tickets); a suggestion equal to the ticket's current value is left out.",
        responses={200: s.SuggestionListSerializer, **ERROR_RESPONSES},
    )
    def get(self, request, ticket):
        target = _ticket_lookup(tickets_for(request.user), ticket)
        shown = suggestions.suggestions_for(ticket=target, user=request.user)
        return Response({"suggestions": [s.shown_data(x) for x in shown]})


class SuggestionDecisionView(APIView):
    permission_classes = [ActionPermissions]
    action_permissions = {"post": [allows(can_see_suggestions)]}
    decision = "accept"

    @extend_schema(
        summary="Accept or reject a ticket's pending suggestion for one field (staff)",
        description="Accepting applies the value through the ticket's own rules (permission, "
        "SLA recomputation for priority, audit event).",
        request=s.SuggestionDecisionSerializer,
        responses={200: s.SuggestionListSerializer, **ERROR_RESPONSES},
    )
    def post(self, request, ticket):
        target = _ticket_lookup(tickets_for(request.user), ticket)
        data = s.SuggestionDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decide = suggestions.accept if self.decision == "accept" else suggestions.reject
        decide(ticket=target, field=data.validated_data["field"], by=request.user)
        shown = suggestions.suggestions_for(ticket=target, user=request.user)
        return Response(
            {"suggestions": [s.shown_data(x) for x in shown]}, status=status.HTTP_200_OK
        )
