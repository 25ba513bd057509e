"""`/api/v1/privacy/`: subject access and erasure requests, legal holds, retention (leads and
admins). Views translate HTTP to `privacy.services` calls; the rules live there."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import ActionPermissions, allows
from core.api.serializers import ModelSerializer as StrictModelSerializer
from core.api.serializers import Serializer as StrictSerializer
from core.errors import DomainError
from core.inputs import ID_PATTERN
from core.models import Organization
from support.models import Ticket

from .. import retention, selectors, services
from ..models import LegalHold, PrivacyRequest, RequestKind, RetentionAction
from ..permissions import can_manage


class PrivacyRequestSerializer(StrictModelSerializer):
    number = serializers.CharField(read_only=True)
    download_url = serializers.SerializerMethodField(
        help_text="The signed, expiring link to the archive (a finished export), else null."
    )

    class Meta:
        model = PrivacyRequest
        fields = [
            "id",
            "number",
            "kind",
            "status",
            "subject_email",
            "include_internal_notes",
            "created_at",
            "approved_at",
            "due_at",
            "started_at",
            "finished_at",
            "progress",
            "progress_note",
            "expires_at",
            "result",
            "error",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, request) -> str | None:
        url = services.download_url(request)
        return self.context["request"].build_absolute_uri(url) if url else None


class PrivacyRequestInputSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=RequestKind.choices)
    email = serializers.EmailField(help_text="The person: their account's or contact address.")
    include_internal_notes = serializers.BooleanField(
        required=False, help_text="Exports of staff members only; a second lead confirms."
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class LegalHoldSerializer(StrictModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    ticket = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)

    class Meta:
        model = LegalHold
        fields = ["id", "organization", "ticket", "reason", "placed_at", "released_at"]
        read_only_fields = fields


class LegalHoldInputSerializer(StrictSerializer):
    organization = serializers.CharField(required=False, help_text="An organisation's slug.")
    ticket = serializers.CharField(required=False, help_text="A ticket number.")
    reason = serializers.CharField(max_length=2000)


class RetentionPlanSerializer(StrictSerializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    action = serializers.ChoiceField(choices=RetentionAction.choices)
    days = serializers.IntegerField()
    enabled = serializers.BooleanField()
    due = serializers.IntegerField(allow_null=True, help_text="Rows the next run would change.")
    first_ids = serializers.ListField(child=serializers.IntegerField())


class RetentionPolicyInputSerializer(StrictSerializer):
    kind = serializers.CharField()
    days = serializers.IntegerField(min_value=0, max_value=36500)
    action = serializers.ChoiceField(choices=RetentionAction.choices)
    enabled = serializers.BooleanField()


@extend_schema_view(
    list=extend_schema(summary="Privacy requests, newest first"),
    retrieve=extend_schema(summary="A privacy request: its state, progress and download link"),
    create=extend_schema(
        summary="Ask for a subject access export or an erasure of one person",
        request=PrivacyRequestInputSerializer,
        responses={201: PrivacyRequestSerializer},
        examples=[
            OpenApiExample(
                "Export",
                value={"kind": "export", "email": "jordan.doe@example.com"},
                request_only=True,
            )
        ],
    ),
    approve=extend_schema(
        summary="Confirm (a second lead): an export is built, an erasure scheduled",
        request=None,
        responses={200: PrivacyRequestSerializer},
    ),
    reject=extend_schema(
        summary="Reject a request awaiting confirmation",
        request=None,
        responses={200: PrivacyRequestSerializer},
    ),
    cancel=extend_schema(
        summary="Withdraw a request (an erasure until its grace period ends)",
        request=None,
        responses={200: PrivacyRequestSerializer},
    ),
)
class PrivacyRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = PrivacyRequestSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {"*": [allows(can_manage)]}
    filter_backends: list = []
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        return selectors.requests_list()

    def create(self, request):
        body = PrivacyRequestInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        created = services.create_request(
            by=request.user,
            kind=data["kind"],
            email=data["email"],
            include_internal_notes=data.get("include_internal_notes", False),
            reason=data.get("reason", ""),
        )
        shown = PrivacyRequestSerializer(created, context={"request": request})
        return Response(shown.data, status=status.HTTP_201_CREATED)

    def _step(self, request, step):
        done = step(request=self.get_object(), by=request.user)
        return Response(PrivacyRequestSerializer(done, context={"request": request}).data)

    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._step(request, services.approve)

    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._step(request, services.reject)

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._step(request, services.cancel)


@extend_schema_view(
    list=extend_schema(summary="Active legal holds"),
    create=extend_schema(
        summary="Place a legal hold on an organisation or a ticket",
        request=LegalHoldInputSerializer,
        responses={201: LegalHoldSerializer},
        examples=[
            OpenApiExample(
                "Ticket",
                value={"ticket": "TKT-20261125-0042", "reason": "Dispute 2026-14"},
                request_only=True,
            )
        ],
    ),
    release=extend_schema(
        summary="Release a hold", request=None, responses={200: LegalHoldSerializer}
    ),
)
class LegalHoldViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = LegalHoldSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {"*": [allows(can_manage)]}
    filter_backends: list = []
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        return selectors.active_holds_list().order_by("-placed_at", "-pk")

    def create(self, request):
        body = LegalHoldInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        organization = ticket = None
        if data.get("organization"):
            organization = Organization.objects.filter(slug=data["organization"]).first()
            if organization is None:
                raise DomainError("No such organisation.", errors={"organization": ["Not found."]})
        if data.get("ticket"):
            ticket = Ticket.objects.filter(number=data["ticket"].strip().upper()).first()
            if ticket is None:
                raise DomainError("No such ticket.", errors={"ticket": ["Not found."]})
        hold = services.place_hold(
            by=request.user, reason=data["reason"], organization=organization, ticket=ticket
        )
        return Response(LegalHoldSerializer(hold).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        hold = services.release_hold(hold=self.get_object(), by=request.user)
        return Response(LegalHoldSerializer(hold).data)


class RetentionView(APIView):
    """Each kind of data with its policy and what the next run would do (the dry run)."""

    permission_classes = [allows(can_manage)]

    @extend_schema(
        summary="Retention policies and the dry run of the next run",
        responses={200: RetentionPlanSerializer(many=True)},
    )
    def get(self, request):
        return Response(RetentionPlanSerializer(retention.overview(), many=True).data)

    @extend_schema(
        summary="Set one kind's policy",
        request=RetentionPolicyInputSerializer,
        responses={200: RetentionPlanSerializer(many=True)},
        examples=[
            OpenApiExample(
                "Closed tickets",
                value={
                    "kind": "support.closed_tickets",
                    "days": 730,
                    "action": "anonymise",
                    "enabled": True,
                },
                request_only=True,
            )
        ],
    )
    def put(self, request):
        body = RetentionPolicyInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            retention.set_policy(by=request.user, **data)
        except KeyError as exc:
            raise DomainError("No such kind of data.", errors={"kind": ["Unknown."]}) from exc
        return Response(RetentionPlanSerializer(retention.overview(), many=True).data)
