from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import serializers as api

from .. import selectors
from ..models import (
    ActivityKind,
    CoverageType,
    DocumentActivity,
    InfoRequestItem,
    InsuranceDocument,
    Reminder,
    ReminderKind,
)
from ..services import MAX_ITEMS


class ItemSerializer(api.ModelSerializer):
    class Meta:
        model = InfoRequestItem
        fields = ["id", "position", "needed", "instructions"]
        read_only_fields = fields


class NextReminderSerializer(api.ModelSerializer):
    class Meta:
        model = Reminder
        fields = ["id", "kind", "due_at"]
        read_only_fields = fields


class DocumentSerializer(api.ModelSerializer):
    owner_email = serializers.EmailField(source="owner.email", read_only=True)
    next_reminder = serializers.SerializerMethodField()
    outstanding_items = serializers.SerializerMethodField(
        help_text="The open checklist's items still to be answered."
    )

    class Meta:
        model = InsuranceDocument
        fields = [
            "id",
            "owner",
            "owner_email",
            "organization",
            "status",
            "policy_number",
            "insurer",
            "coverage_type",
            "coverage_start",
            "coverage_end",
            "file_name",
            "content_type",
            "size",
            "reviewer",
            "decision_reason",
            "decided_at",
            "replaces",
            "submitted_at",
            "updated_at",
            "next_reminder",
            "outstanding_items",
        ]
        read_only_fields = fields

    @extend_schema_field(NextReminderSerializer(allow_null=True))
    def get_next_reminder(self, document):
        reminder = selectors.next_reminder(document)
        return NextReminderSerializer(reminder).data if reminder else None

    @extend_schema_field(ItemSerializer(many=True))
    def get_outstanding_items(self, document):
        return ItemSerializer(selectors.outstanding_items(document), many=True).data


class PolicySerializer(api.Serializer):
    policy_number = serializers.CharField(max_length=100)
    insurer = serializers.CharField(max_length=200)
    coverage_type = serializers.ChoiceField(choices=CoverageType.choices)
    coverage_start = serializers.DateField()
    coverage_end = serializers.DateField(help_text="The last day covered; after the start.")


class DocumentCreateSerializer(PolicySerializer):
    file = serializers.FileField(help_text="A PDF or an image (PNG, JPEG, WebP) of the policy.")


class ReplaceSerializer(DocumentCreateSerializer):
    """A new version; policy fields not given are copied from the version it replaces."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("policy_number", "insurer", "coverage_type", "coverage_start", "coverage_end"):
            self.fields[name].required = False


class ApproveSerializer(api.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class RejectSerializer(api.Serializer):
    reason = serializers.CharField(max_length=5000, help_text="Told to the owner.")


class RequestedItemSerializer(api.Serializer):
    needed = serializers.CharField(max_length=200)
    instructions = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=5000
    )


class InfoRequestCreateSerializer(api.Serializer):
    items = RequestedItemSerializer(many=True, min_length=1, max_length=MAX_ITEMS)
    message = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class ProvideInfoSerializer(api.Serializer):
    item = serializers.IntegerField(min_value=1, help_text="The checklist item answered.")
    file = serializers.FileField(help_text="A PDF or an image (PNG, JPEG, WebP).")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class ActivitySerializer(api.ModelSerializer):
    actor_name = serializers.SerializerMethodField()
    kind = serializers.ChoiceField(choices=ActivityKind.choices, read_only=True)

    class Meta:
        model = DocumentActivity
        fields = ["id", "kind", "actor", "actor_name", "reason", "before", "after", "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_actor_name(self, activity):
        return activity.actor.display_name if activity.actor else "System"


class ReminderSerializer(api.ModelSerializer):
    kind = serializers.ChoiceField(choices=ReminderKind.choices, read_only=True)
    status = serializers.ChoiceField(
        choices=["pending", "sent", "cancelled", "failed"], read_only=True
    )

    class Meta:
        model = Reminder
        fields = [
            "id",
            "document",
            "kind",
            "status",
            "due_at",
            "attempts",
            "last_error",
            "sequence",
            "manual",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class RangeSerializer(api.Serializer):
    since = serializers.DateField(required=False, help_text="First day (UTC), inclusive.")
    until = serializers.DateField(required=False, help_text="Last day (UTC), inclusive.")

    def validate(self, data):
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            raise serializers.ValidationError({"until": "The range ends before it starts."})
        return data
