"""The insurance API: owners submit and answer, reviewers decide; all of it on the record."""

import datetime as dt

import django_filters
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.pagination import UncountedPageNumberPagination
from core.api.permissions import ActionPermissions, allows
from core.attachments import file_response
from core.inputs import ID_PATTERN, parse_id
from core.replica import streamed_from_replica

from .. import export, selectors, services
from ..models import (
    DocumentActivity,
    Reminder,
    ReminderKind,
    Status,
    document_storage,
)
from ..permissions import (
    can_act_as_owner,
    can_export,
    can_review,
    can_submit,
    can_update,
    can_use_insurance,
)
from . import serializers as s

MULTIPART = [parsers.MultiPartParser, parsers.FormParser]
USE = allows(can_use_insurance)
REVIEW = [USE, allows(can_review)]
CSV_RESPONSE = {
    (200, "text/csv"): OpenApiResponse(
        response=OpenApiTypes.STR,
        description="activity_id, created_at (UTC), document_id, policy_number, owner, kind, "
        "actor, reason, before, after; oldest first, streamed",
    )
}


def example(name, value):
    return [OpenApiExample(name, value=value, request_only=True)]


class DocumentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Status.choices)


def _day_start(day):
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) if day else None


def _csv(rows, filename: str) -> StreamingHttpResponse:
    # Exports read from the replica when one is configured (core.replica).
    lines = streamed_from_replica(export.csv_lines(rows))
    response = StreamingHttpResponse(lines, content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class DocumentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Owners see their own documents, reviewers every one; others none."""

    lookup_value_regex = ID_PATTERN
    serializer_class = s.DocumentSerializer
    filterset_class = DocumentFilter
    pagination_class = UncountedPageNumberPagination
    permission_classes = [ActionPermissions]
    http_method_names = ["get", "post", "patch", "head", "options"]
    action_permissions = {
        "list": [USE],
        "retrieve": [USE],
        "create": [USE, allows(can_submit)],
        "partial_update": [USE, allows(can_update)],
        "start_review": REVIEW,
        "approve": REVIEW,
        "reject": REVIEW,
        "request_info": REVIEW,
        "remind": REVIEW,
        "provide_info": [USE, allows(can_act_as_owner)],
        "replace": [USE, allows(can_act_as_owner)],
        "activities": [USE],
        "download": [USE],
        "download_item": [USE],
        "export": [USE, allows(can_export)],
        "export_all": [USE, allows(can_export)],
    }

    def get_queryset(self):
        return selectors.with_details(selectors.documents_for(self.request.user))

    def _detail(self, document, code=status.HTTP_200_OK):
        fresh = self.get_queryset().get(pk=document.pk)
        return Response(s.DocumentSerializer(fresh).data, status=code)

    @extend_schema(summary="Insurance documents (owners: their own), newest first")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="A document with its outstanding items and next reminder")
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        summary="Submit a document (customers and providers); multipart with the file",
        request={"multipart/form-data": s.DocumentCreateSerializer},
        responses={201: s.DocumentSerializer},
    )
    def create(self, request, *args, **kwargs):
        data = s.DocumentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document = services.submit(by=request.user, **data.validated_data)
        return self._detail(document, status.HTTP_201_CREATED)

    def get_parsers(self):
        if getattr(self, "action", None) in ("create", "provide_info", "replace"):
            return [parser() for parser in MULTIPART]
        return super().get_parsers()

    @extend_schema(
        summary="Correct the policy fields (the owner while undecided; reviewers)",
        request=s.PolicySerializer(partial=True),
        responses={200: s.DocumentSerializer},
        examples=example("Fix the policy number", {"policy_number": "POL-2026-0042"}),
    )
    def partial_update(self, request, *args, **kwargs):
        document = self.get_object()
        data = s.PolicySerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        document = services.update(document=document, by=request.user, **data.validated_data)
        return self._detail(document)

    @extend_schema(summary="Start reviewing (reviewers)", request=None)
    @action(detail=True, methods=["post"], url_path="start-review", filter_backends=[])
    def start_review(self, request, pk=None):
        document = services.start_review(document=self.get_object(), by=request.user)
        return self._detail(document)

    @extend_schema(
        summary="Approve (reviewers); schedules the expiry reminders",
        request=s.ApproveSerializer,
        responses={200: s.DocumentSerializer},
        examples=example("Approve", {"reason": "Matches the contract's requirements."}),
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def approve(self, request, pk=None):
        data = s.ApproveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document = services.approve(
            document=self.get_object(), by=request.user, reason=data.validated_data["reason"]
        )
        return self._detail(document)

    @extend_schema(
        summary="Reject with a reason (reviewers); the owner is told why",
        request=s.RejectSerializer,
        responses={200: s.DocumentSerializer},
        examples=example("Reject", {"reason": "The policy number is cut off."}),
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def reject(self, request, pk=None):
        data = s.RejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document = services.reject(
            document=self.get_object(), by=request.user, reason=data.validated_data["reason"]
        )
        return self._detail(document)

    @extend_schema(
        summary="Ask the owner for more information: a checklist (reviewers)",
        request=s.InfoRequestCreateSerializer,
        responses={200: s.DocumentSerializer},
        examples=example(
            "Two things missing",
            {
                "message": "Two things are missing before we can approve.",
                "items": [
                    {"needed": "Signed page", "instructions": "Page 2, with the signature."},
                    {"needed": "Certificate of insurance"},
                ],
            },
        ),
    )
    @action(detail=True, methods=["post"], url_path="request-info", filter_backends=[])
    def request_info(self, request, pk=None):
        data = s.InfoRequestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document = self.get_object()
        services.request_info(document=document, by=request.user, **data.validated_data)
        return self._detail(document)

    @extend_schema(
        summary="Answer one checklist item with a file (the owner); multipart",
        request={"multipart/form-data": s.ProvideInfoSerializer},
        responses={200: s.DocumentSerializer},
    )
    @action(detail=True, methods=["post"], url_path="provide-info", filter_backends=[])
    def provide_info(self, request, pk=None):
        document = self.get_object()
        data = s.ProvideInfoSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        item = get_object_or_404(
            selectors.outstanding_items_queryset(document), pk=values.pop("item")
        )
        services.provide_info(document=document, by=request.user, item=item, **values)
        return self._detail(document)

    @extend_schema(
        summary="Send a new version (the owner); multipart. An approved version stays in force "
        "until the new one is approved",
        request={"multipart/form-data": s.ReplaceSerializer},
        responses={201: s.DocumentSerializer},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def replace(self, request, pk=None):
        document = self.get_object()
        data = s.ReplaceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        newer = services.replace(document=document, by=request.user, **data.validated_data)
        return self._detail(newer, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Remind the owner of the open checklist now (reviewers); refused with "
        "`next_allowed_at` if a reminder went out recently",
        request=None,
        responses={202: s.ReminderSerializer},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def remind(self, request, pk=None):
        reminder = services.remind(document=self.get_object(), by=request.user)
        return Response(s.ReminderSerializer(reminder).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="The document's timeline, oldest first",
        responses={200: s.ActivitySerializer(many=True)},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def activities(self, request, pk=None):
        document = self.get_object()
        paginator = UncountedPageNumberPagination()
        page = paginator.paginate_queryset(selectors.activities_of(document), request, view=self)
        return paginator.get_paginated_response(s.ActivitySerializer(page, many=True).data)

    @extend_schema(
        summary="The document's file (a short-lived signed URL on S3); on the record",
        responses={
            (200, "*/*"): OpenApiResponse(description="The file, with its own content type"),
            302: OpenApiResponse(description="Redirect to a signed URL"),
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def download(self, request, pk=None):
        document = self.get_object()
        services.record_download(document=document, by=request.user, file=document.file_name)
        return file_response(
            document_storage(),
            document.file.name,
            filename=document.file_name,
            content_type=document.content_type,
        )

    @extend_schema(
        summary="The file the owner sent for a checklist item",
        responses={
            (200, "*/*"): OpenApiResponse(description="The file, with its own content type"),
            302: OpenApiResponse(description="Redirect to a signed URL"),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=rf"items/(?P<item_id>{ID_PATTERN})/download",
        filter_backends=[],
    )
    def download_item(self, request, pk=None, item_id=None):
        document = self.get_object()
        item = get_object_or_404(selectors.answered_items(document), pk=parse_id(item_id))
        services.record_download(
            document=document, by=request.user, item=item.pk, file=item.file_name
        )
        return file_response(
            document_storage(),
            item.file.name,
            filename=item.file_name,
            content_type=item.content_type,
        )

    @extend_schema(
        summary="The document's timeline as CSV (reviewers)",
        responses=CSV_RESPONSE,
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def export(self, request, pk=None):
        document = self.get_object()
        return _csv(
            DocumentActivity.objects.filter(document=document),
            f"insurance-document-{document.pk}-activities.csv",
        )

    @extend_schema(
        summary="Every document's activities in a date range as CSV (reviewers)",
        operation_id="insurance_documents_export_range",
        parameters=[s.RangeSerializer],
        responses=CSV_RESPONSE,
    )
    @action(detail=False, methods=["get"], url_path="export", filter_backends=[])
    def export_all(self, request):
        query = s.RangeSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        since, until = query.validated_data.get("since"), query.validated_data.get("until")
        rows = export.activities_between(
            _day_start(since), _day_start(until + dt.timedelta(days=1)) if until else None
        )
        name = f"insurance-activities-{since or 'start'}-{until or 'now'}.csv"
        return _csv(rows, name)


class ReminderFilter(django_filters.FilterSet):
    document = django_filters.NumberFilter(min_value=1, max_value=2**63 - 1)
    kind = django_filters.ChoiceFilter(choices=ReminderKind.choices)

    class Meta:
        model = Reminder
        fields = ["document", "kind", "state"]


class ReminderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Every reminder, scheduled, sent, cancelled or failed (reviewers; read-only)."""

    lookup_value_regex = ID_PATTERN
    queryset = Reminder.objects.order_by("due_at", "pk")
    serializer_class = s.ReminderSerializer
    filterset_class = ReminderFilter
    pagination_class = UncountedPageNumberPagination
    permission_classes = [ActionPermissions]
    action_permissions = {"list": REVIEW, "retrieve": REVIEW}

    @extend_schema(summary="Reminders by due time (reviewers)")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="A reminder (reviewers)")
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)
