from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import serializers as api
from core.roles import Role

from ..models import (
    SUPPORT_OUTCOMES,
    Booking,
    BookingEvent,
    ContactAttempt,
    ContactMethod,
    EventKind,
    Outcome,
    Review,
)
from ..permissions import is_customer_kind

TEXT = {"required": False, "allow_blank": True, "default": "", "max_length": 5000}


class BookingReviewSerializer(api.ModelSerializer):
    class Meta:
        model = Review
        fields = ["rating", "comment", "created_at"]
        read_only_fields = fields


class BookingSerializer(api.ModelSerializer):
    customer_name = serializers.CharField(source="customer.display_name", read_only=True)
    technician_name = serializers.SerializerMethodField()
    support_ticket = serializers.SerializerMethodField(
        help_text="The number of the ticket of the rejection or the follow-up."
    )
    in_follow_up = serializers.BooleanField(read_only=True)
    review = serializers.SerializerMethodField()
    completion_outcome = serializers.SerializerMethodField(
        help_text="How the completion was settled; null until it is."
    )

    class Meta:
        model = Booking
        fields = [
            "id",
            "number",
            "status",
            "service",
            "location",
            "scheduled_at",
            "customer",
            "customer_name",
            "technician",
            "technician_name",
            "started_at",
            "completion_requested_at",
            "completion_note",
            "completion_deadline",
            "completion_round",
            "rejected_at",
            "rejection_reason",
            "escalated_at",
            "in_follow_up",
            "failed_contact_attempts",
            "verified_at",
            "completed_at",
            "completion_outcome",
            "support_ticket",
            "review",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_technician_name(self, booking):
        return booking.technician.display_name if booking.technician else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_support_ticket(self, booking):
        return booking.support_ticket.number if booking.support_ticket else None

    @extend_schema_field(serializers.ChoiceField(choices=Outcome.choices, allow_null=True))
    def get_completion_outcome(self, booking):
        return booking.completion_outcome or None

    @extend_schema_field(BookingReviewSerializer(allow_null=True))
    def get_review(self, booking):
        review = getattr(booking, "review", None)
        return BookingReviewSerializer(review).data if review else None


def _customers(context):
    from core.models import User

    return User.objects.filter(is_active=True).exclude(
        groups__name__in=[Role.AGENT, Role.SUPPORT_LEAD, Role.ADMIN, Role.TECHNICIAN]
    )


def _technicians(context):
    from core.models import User

    return User.objects.filter(is_active=True, groups__name=Role.TECHNICIAN)


class BookingCreateSerializer(api.Serializer):
    customer = api.ScopedPrimaryKeyRelatedField(scope=_customers)
    technician = api.ScopedPrimaryKeyRelatedField(scope=_technicians)
    service = serializers.CharField(max_length=200)
    location = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
    scheduled_at = serializers.DateTimeField()

    def validate_customer(self, customer):
        if not is_customer_kind(customer):
            raise serializers.ValidationError("Not a customer.")
        return customer


class BookingRequestCompletionSerializer(api.Serializer):
    note = serializers.CharField(**TEXT, help_text="What was done; the customer sees it.")


class BookingApproveSerializer(api.Serializer):
    feedback = serializers.CharField(**TEXT)


class BookingRejectSerializer(api.Serializer):
    reason = serializers.CharField(
        max_length=5000, help_text="What is not done or not right (the customer's issues)."
    )


class BookingReviewCreateSerializer(api.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(**TEXT)


class BookingCompleteSerializer(api.Serializer):
    outcome = serializers.ChoiceField(choices=[str(o) for o in SUPPORT_OUTCOMES])
    notes = serializers.CharField(**TEXT)


class BookingCancelSerializer(api.Serializer):
    reason = serializers.CharField(**TEXT)


class BookingContactAttemptCreateSerializer(api.Serializer):
    method = serializers.ChoiceField(choices=ContactMethod.choices)
    reached = serializers.BooleanField()
    notes = serializers.CharField(**TEXT)


class BookingContactAttemptSerializer(api.ModelSerializer):
    agent_name = serializers.SerializerMethodField()

    class Meta:
        model = ContactAttempt
        fields = ["id", "method", "reached", "notes", "agent", "agent_name", "attempted_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_agent_name(self, attempt):
        return attempt.agent.display_name if attempt.agent else None


class BookingEventSerializer(api.ModelSerializer):
    kind = serializers.ChoiceField(choices=EventKind.choices, read_only=True)
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = BookingEvent
        fields = ["id", "kind", "actor", "actor_name", "before", "after", "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_actor_name(self, event):
        return event.actor.display_name if event.actor else "System"
