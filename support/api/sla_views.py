"""SLA, escalation, reminder and report endpoints."""

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import ActionPermissions, allows
from core.replica import reading_replica

from .. import reports, sla
from ..models import EscalationPolicy, SLAPolicy
from ..permissions import (
    can_edit_policies,
    can_escalate,
    can_override_sla,
    can_remind,
    can_see_internal,
    can_see_reports,
    can_see_sla,
)
from ..selectors import tickets_for
from ..services import escalation
from ..services.sla_overrides import override_sla
from . import sla_serializers as s
from .views import ERROR_RESPONSES, _ticket_lookup, request_example


class SLAPolicyViewSet(viewsets.ModelViewSet):
    """SLA policies: support leads write, agents read."""

    serializer_class = s.SLAPolicySerializer
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": [allows(can_see_sla)],
        "retrieve": [allows(can_see_sla)],
        "*": [allows(can_edit_policies)],
    }
    queryset = SLAPolicy.objects.order_by("priority", "customer_tier", "pk")


class EscalationPolicyViewSet(viewsets.ModelViewSet):
    """Escalation policies with their ordered levels: support leads write, agents read."""

    serializer_class = s.EscalationPolicySerializer
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": [allows(can_see_sla)],
        "retrieve": [allows(can_see_sla)],
        "*": [allows(can_edit_policies)],
    }
    queryset = EscalationPolicy.objects.prefetch_related("levels__notify_users").order_by("name")


def ticket_sla(ticket) -> dict:
    now = timezone.now()
    clocks = sla.read_clocks(ticket, now=now)
    override = None
    if ticket.sla_overridden_at:
        override = {
            "by": ticket.sla_overridden_by.display_name if ticket.sla_overridden_by else None,
            "at": ticket.sla_overridden_at,
            "reason": ticket.sla_override_reason,
        }
    policy = ticket.sla_policy
    return {
        "ticket": ticket.number,
        "state": sla.sla_state(ticket, now=now),
        "policy": policy.name if policy else None,
        "priority": ticket.priority,
        "calendar": str(policy.calendar) if policy and policy.calendar_id else None,
        "paused": ticket.sla_paused_at is not None,
        "paused_minutes": round(ticket.sla_paused_minutes, 2),
        "first_response": vars(clocks["first_response"]),
        "resolution": vars(clocks["resolution"]),
        "escalation_level": ticket.escalation_level,
        "override": override,
    }


class TicketSLAView(APIView):
    """A ticket's SLA: targets, due times, elapsed and remaining working minutes, state."""

    permission_classes = [ActionPermissions]
    action_permissions = {"get": [allows(can_see_sla)], "patch": [allows(can_override_sla)]}

    def _ticket(self, request, ticket):
        queryset = tickets_for(request.user).select_related(
            "sla_policy__calendar", "sla_overridden_by"
        )
        return _ticket_lookup(queryset, ticket)

    @extend_schema(summary="SLA of a ticket (staff)", responses={200: s.TicketSLASerializer})
    def get(self, request, ticket):
        return Response(s.TicketSLASerializer(ticket_sla(self._ticket(request, ticket))).data)

    @extend_schema(
        summary="Change priority or override targets (support leads; audited)",
        request=s.SLAOverrideSerializer,
        examples=request_example(
            "Override targets", {"first_response_minutes": 30, "reason": "Launch week"}
        )
        + request_example("Raise priority", {"priority": "urgent", "reason": "Outage"}),
        responses={200: s.TicketSLASerializer, **ERROR_RESPONSES},
    )
    def patch(self, request, ticket):
        target = self._ticket(request, ticket)
        data = s.SLAOverrideSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        override_sla(ticket=target, by=request.user, **data.validated_data)
        return Response(s.TicketSLASerializer(ticket_sla(self._ticket(request, ticket))).data)


class TicketEscalateView(APIView):
    permission_classes = [ActionPermissions]
    action_permissions = {"post": [allows(can_escalate)]}

    @extend_schema(
        summary="Escalate one level up (staff)",
        request=s.EscalateSerializer,
        responses={201: s.EscalationSerializer, **ERROR_RESPONSES},
        examples=request_example(
            "Escalate to a team", {"reason": "Customer threatens to churn", "team": 2}
        ),
    )
    def post(self, request, ticket):
        target = _ticket_lookup(tickets_for(request.user), ticket)
        data = s.EscalateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = escalation.escalate_ticket(
            ticket=target,
            by=request.user,
            reason=data.validated_data["reason"],
            team=data.validated_data.get("team"),
            user=data.validated_data.get("user"),
        )
        return Response(s.EscalationSerializer(record).data, status=status.HTTP_201_CREATED)


class TicketEscalationsView(APIView):
    permission_classes = [ActionPermissions]
    action_permissions = {"get": [allows(can_see_internal)]}

    @extend_schema(
        summary="Escalation history (staff)", responses={200: s.EscalationSerializer(many=True)}
    )
    def get(self, request, ticket):
        target = _ticket_lookup(tickets_for(request.user), ticket)
        history = target.escalations.select_related("actor", "target_team", "target_user")
        return Response(s.EscalationSerializer(history, many=True).data)


class TicketRemindView(APIView):
    permission_classes = [ActionPermissions]
    action_permissions = {"post": [allows(can_remind)]}

    @extend_schema(
        summary="Remind the assignee, or nudge the customer (once per 30 minutes each)",
        request=s.RemindSerializer,
        responses={202: s.ReminderSentSerializer, **ERROR_RESPONSES},
        examples=request_example("Nudge the customer", {"target": "customer", "message": ""}),
    )
    def post(self, request, ticket):
        target = _ticket_lookup(tickets_for(request.user), ticket)
        data = s.RemindSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        escalation.remind(ticket=target, by=request.user, **data.validated_data)
        return Response({"detail": "Reminder sent."}, status=status.HTTP_202_ACCEPTED)


class SLAReportView(APIView):
    permission_classes = [ActionPermissions]
    action_permissions = {"get": [allows(can_see_reports)]}

    @extend_schema(
        summary="SLA compliance report (staff); `export=csv` downloads it",
        parameters=[
            OpenApiParameter("start_date", str, required=True, description="YYYY-MM-DD"),
            OpenApiParameter("end_date", str, required=True, description="YYYY-MM-DD"),
            OpenApiParameter("export", str, enum=["json", "csv"]),
        ],
        responses={
            (200, "application/json"): s.SLAReportSerializer,
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR, description="`export=csv`: the breaches, one per row"
            ),
            400: ERROR_RESPONSES[400],
        },
    )
    def get(self, request):
        query = s.ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        with reading_replica():  # a report: the replica's moment-old view will do
            report = reports.sla_report(
                tickets=tickets_for(request.user),
                start=query.validated_data["start_date"],
                end=query.validated_data["end_date"],
            )
        if query.validated_data["export"] == "csv":
            response = HttpResponse(reports.breaches_csv(report), content_type="text/csv")
            name = f"sla-report-{report['start_date']}-{report['end_date']}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        return Response(report)
