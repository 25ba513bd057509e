"""The bookings API: staff book and follow up, technicians ask for completion, customers answer
and review. Every read is scoped by `selectors.bookings_for` (another's booking is a 404)."""

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from core.api.pagination import UncountedPageNumberPagination
from core.api.permissions import ActionPermissions, allows
from core.inputs import ID_PATTERN, as_utc

from .. import selectors, services
from ..models import Status
from ..permissions import can_manage, can_respond, can_start, can_use_bookings, can_work
from . import serializers as s

USE = allows(can_use_bookings)
MANAGE = [USE, allows(can_manage)]
RESPOND = [USE, allows(can_respond)]


def example(name, value):
    return [OpenApiExample(name, value=value, request_only=True)]


class BookingFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Status.choices)


class BookingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Customers see their bookings, technicians their jobs, support staff every booking."""

    lookup_value_regex = ID_PATTERN
    serializer_class = s.BookingSerializer
    filterset_class = BookingFilter
    pagination_class = UncountedPageNumberPagination
    permission_classes = [ActionPermissions]
    http_method_names = ["get", "post", "head", "options"]
    action_permissions = {
        "list": [USE],
        "retrieve": [USE],
        "create": MANAGE,
        "start": [USE, allows(can_start)],
        "request_completion": [USE, allows(can_work)],
        "approve": RESPOND,
        "reject": RESPOND,
        "review": RESPOND,
        "initiate_follow_up": MANAGE,
        "contact_attempts": MANAGE,
        "complete": MANAGE,
        "cancel": MANAGE,
        "pending_completion": MANAGE,
        "events": [USE],
    }

    def get_queryset(self):
        return selectors.bookings_for(self.request.user)

    def _detail(self, booking, code=status.HTTP_200_OK):
        fresh = selectors.bookings_for(self.request.user).get(pk=booking.pk)
        return Response(s.BookingSerializer(fresh).data, status=code)

    @extend_schema(summary="Bookings (customers: theirs; technicians: their jobs), latest first")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="A booking")
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        summary="Book a job for a customer (support staff); numbered BKG-YYYYMMDD-NNNN",
        request=s.BookingCreateSerializer,
        responses={201: s.BookingSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        data = s.BookingCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["scheduled_at"] = as_utc(values["scheduled_at"])
        booking = services.create_booking(by=request.user, **values)
        return self._detail(booking, status.HTTP_201_CREATED)

    @extend_schema(summary="Start the job (its technician, or staff)", request=None)
    @action(detail=True, methods=["post"], filter_backends=[])
    def start(self, request, pk=None):
        return self._detail(services.start(booking=self.get_object(), by=request.user))

    @extend_schema(
        summary="Say the job is done (its technician): the customer has "
        "COMPLETION_ESCALATION_HOURS to approve or reject",
        request=s.BookingRequestCompletionSerializer,
        responses={200: s.BookingSerializer},
        examples=example("Done", {"note": "Replaced the valve and tested the pressure."}),
    )
    @action(detail=True, methods=["post"], url_path="request-completion", filter_backends=[])
    def request_completion(self, request, pk=None):
        data = s.BookingRequestCompletionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        booking = services.request_completion(
            booking=self.get_object(), by=request.user, **data.validated_data
        )
        return self._detail(booking)

    @extend_schema(
        summary="Approve the completion (the customer): verified, and open to a review",
        request=s.BookingApproveSerializer,
        responses={200: s.BookingSerializer},
        examples=example("Approve", {"feedback": "Quick and tidy."}),
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def approve(self, request, pk=None):
        data = s.BookingApproveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        booking = services.approve(
            booking=self.get_object(), by=request.user, **data.validated_data
        )
        return self._detail(booking)

    @extend_schema(
        summary="Reject the completion with the customer's issues: back in progress, and one "
        "high-priority support ticket (a retry makes no second one)",
        request=s.BookingRejectSerializer,
        responses={200: s.BookingSerializer},
        examples=example("Reject", {"reason": "The tap still drips."}),
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def reject(self, request, pk=None):
        data = s.BookingRejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        booking = services.reject(booking=self.get_object(), by=request.user, **data.validated_data)
        return self._detail(booking)

    @extend_schema(
        summary="Review verified work (the customer; once)",
        request=s.BookingReviewCreateSerializer,
        responses={201: s.BookingReviewSerializer},
        examples=example("Review", {"rating": 5, "comment": "On time and friendly."}),
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def review(self, request, pk=None):
        data = s.BookingReviewCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.leave_review(
            booking=self.get_object(), by=request.user, **data.validated_data
        )
        return Response(s.BookingReviewSerializer(review).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Start support's follow-up now, before the deadline (staff): a support ticket",
        request=None,
        responses={200: s.BookingSerializer},
    )
    @action(detail=True, methods=["post"], url_path="initiate-follow-up", filter_backends=[])
    def initiate_follow_up(self, request, pk=None):
        booking = services.initiate_follow_up(booking=self.get_object(), by=request.user)
        return self._detail(booking)

    @extend_schema(
        methods=["GET"],
        summary="The attempts to reach the customer, oldest first (staff)",
        responses={200: s.BookingContactAttemptSerializer(many=True)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Log an attempt to reach the customer during the follow-up (staff)",
        request=s.BookingContactAttemptCreateSerializer,
        responses={201: s.BookingContactAttemptSerializer},
        examples=example(
            "Voicemail", {"method": "call", "reached": False, "notes": "Left a voicemail."}
        ),
    )
    @action(detail=True, methods=["get", "post"], url_path="contact-attempts", filter_backends=[])
    def contact_attempts(self, request, pk=None):
        booking = self.get_object()
        if request.method == "POST":
            data = s.BookingContactAttemptCreateSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            attempt = services.log_contact_attempt(
                booking=booking, by=request.user, **data.validated_data
            )
            return Response(
                s.BookingContactAttemptSerializer(attempt).data, status=status.HTTP_201_CREATED
            )
        paginator = UncountedPageNumberPagination()
        page = paginator.paginate_queryset(
            selectors.contact_attempts_of(booking), request, view=self
        )
        return paginator.get_paginated_response(
            s.BookingContactAttemptSerializer(page, many=True).data
        )

    @extend_schema(
        summary="Complete with an outcome (staff): customer_confirmed or unreachable → "
        "verified, disputed → disputed",
        request=s.BookingCompleteSerializer,
        responses={200: s.BookingSerializer},
        examples=example(
            "Confirmed by phone", {"outcome": "customer_confirmed", "notes": "Called."}
        ),
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def complete(self, request, pk=None):
        data = s.BookingCompleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        booking = services.complete(
            booking=self.get_object(), by=request.user, **data.validated_data
        )
        return self._detail(booking)

    @extend_schema(
        summary="Cancel a job that is not finished (staff)",
        request=s.BookingCancelSerializer,
        responses={200: s.BookingSerializer},
        examples=example("Cancel", {"reason": "The customer moved out."}),
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def cancel(self, request, pk=None):
        data = s.BookingCancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        booking = services.cancel(booking=self.get_object(), by=request.user, **data.validated_data)
        return self._detail(booking)

    @extend_schema(
        summary="Support's queue: completions past their deadline or in follow-up, oldest "
        "deadline first (staff)",
        responses={200: s.BookingSerializer(many=True)},
    )
    @action(detail=False, methods=["get"], url_path="pending-completion", filter_backends=[])
    def pending_completion(self, request):
        page = self.paginate_queryset(selectors.pending_completion())
        return self.get_paginated_response(s.BookingSerializer(page, many=True).data)

    @extend_schema(
        summary="The booking's timeline, oldest first (contact attempts: staff only)",
        responses={200: s.BookingEventSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def events(self, request, pk=None):
        booking = self.get_object()
        paginator = UncountedPageNumberPagination()
        page = paginator.paginate_queryset(
            selectors.events_of(booking, request.user), request, view=self
        )
        return paginator.get_paginated_response(s.BookingEventSerializer(page, many=True).data)
