from django.db import transaction
from rest_framework import serializers

from core.api import serializers as api
from core.models import BusinessCalendar

from .. import permissions
from ..models import EscalationLevel, EscalationPolicy, SLAPolicy, Team, TicketEscalation
from ..models.choices import Priority
from ..models.sla import MAX_TARGET_MINUTES
from .serializers import PersonSerializer


class SLAPolicySerializer(api.ModelSerializer):
    calendar = serializers.PrimaryKeyRelatedField(
        queryset=BusinessCalendar.objects.all(), required=False, allow_null=True
    )
    escalation_policy = serializers.PrimaryKeyRelatedField(
        queryset=EscalationPolicy.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = SLAPolicy
        fields = [
            "id",
            "name",
            "priority",
            "customer_tier",
            "first_response_minutes",
            "resolution_minutes",
            "warning_percent",
            "calendar",
            "escalation_policy",
            "auto_escalate",
            "notify_on_warning",
            "notify_on_breach",
            "is_active",
        ]

    def validate(self, attrs):
        instance = self.instance
        priority = attrs.get("priority", getattr(instance, "priority", None))
        tier = attrs.get("customer_tier", getattr(instance, "customer_tier", ""))
        active = attrs.get("is_active", getattr(instance, "is_active", True))
        clash = SLAPolicy.objects.filter(priority=priority, customer_tier=tier, is_active=True)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if active and clash.exists():
            raise serializers.ValidationError(
                {"priority": ["An active policy for this priority and tier exists already."]},
                code="duplicate_policy",
            )
        return attrs


class EscalationLevelSerializer(api.ModelSerializer):
    notify_users = api.ScopedPrimaryKeyRelatedField(
        many=True, scope=lambda context: permissions.active_staff(), required=False
    )
    notify_team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    reassign_team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = EscalationLevel
        fields = [
            "level",
            "trigger",
            "delay_minutes",
            "notify_users",
            "notify_team",
            "notify_emails",
            "notify_slack",
            "notify_teams",
            "reassign_team",
            "raise_priority",
        ]


class EscalationPolicySerializer(api.ModelSerializer):
    levels = EscalationLevelSerializer(many=True)

    class Meta:
        model = EscalationPolicy
        fields = ["id", "name", "is_active", "levels"]

    def validate_levels(self, levels):
        # A PATCH replaces the levels as a whole, so each needs its number there too.
        numbers = [level.get("level") for level in levels]
        if None in numbers:
            raise serializers.ValidationError("Each level needs its `level` number.")
        if sorted(numbers) != list(range(1, len(numbers) + 1)):
            raise serializers.ValidationError("Levels are numbered 1, 2, 3… without gaps.")
        return levels

    @transaction.atomic
    def create(self, validated_data):
        levels = validated_data.pop("levels")
        policy = EscalationPolicy.objects.create(**validated_data)
        self._write_levels(policy, levels)
        return policy

    @transaction.atomic
    def update(self, instance, validated_data):
        levels = validated_data.pop("levels", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        instance.save()
        if levels is not None:
            instance.levels.all().delete()
            self._write_levels(instance, levels)
        return instance

    def _write_levels(self, policy, levels):
        for data in levels:
            users = data.pop("notify_users", [])
            level = EscalationLevel.objects.create(policy=policy, **data)
            level.notify_users.set(users)


class ClockSerializer(api.Serializer):
    target_minutes = serializers.IntegerField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    elapsed_minutes = serializers.FloatField(allow_null=True)
    remaining_minutes = serializers.FloatField(allow_null=True)
    stopped_at = serializers.DateTimeField(allow_null=True)
    warned = serializers.BooleanField()
    breached = serializers.BooleanField()
    breached_at = serializers.DateTimeField(allow_null=True)


class SLAOverrideRecordSerializer(api.Serializer):
    by = serializers.CharField(allow_null=True)
    at = serializers.DateTimeField()
    reason = serializers.CharField(allow_blank=True)


class TicketSLASerializer(api.Serializer):
    ticket = serializers.CharField()
    state = serializers.CharField()
    policy = serializers.CharField(allow_null=True)
    priority = serializers.CharField()
    calendar = serializers.CharField(allow_null=True)
    paused = serializers.BooleanField()
    paused_minutes = serializers.FloatField()
    first_response = ClockSerializer()
    resolution = ClockSerializer()
    escalation_level = serializers.IntegerField()
    override = SLAOverrideRecordSerializer(allow_null=True)


class SLAOverrideSerializer(api.Serializer):
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    first_response_minutes = serializers.IntegerField(
        min_value=1, max_value=MAX_TARGET_MINUTES, required=False
    )
    resolution_minutes = serializers.IntegerField(
        min_value=1, max_value=MAX_TARGET_MINUTES, required=False
    )
    reason = serializers.CharField(max_length=2000)

    def validate(self, attrs):
        if not {"priority", "first_response_minutes", "resolution_minutes"} & set(attrs):
            raise serializers.ValidationError(
                "Change the priority or at least one target.", code="nothing_to_change"
            )
        return attrs


class EscalateSerializer(api.Serializer):
    reason = serializers.CharField(max_length=2000)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        help_text="The team that takes the ticket over.",
    )
    # Staff only here; the service applies the finer rule (on the target team, or a lead).
    user = api.ScopedPrimaryKeyRelatedField(
        scope=lambda context: permissions.active_staff(),
        required=False,
        allow_null=True,
        help_text="The person who takes the ticket over.",
    )


class EscalationSerializer(api.ModelSerializer):
    actor = PersonSerializer(read_only=True, allow_null=True)
    target_team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    target_user = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = TicketEscalation
        fields = [
            "id",
            "level",
            "source",
            "trigger",
            "reason",
            "actor",
            "target_team",
            "target_user",
            "notified",
            "created_at",
        ]


class RemindSerializer(api.Serializer):
    target = serializers.ChoiceField(choices=[("assignee", "Assignee"), ("customer", "Customer")])
    message = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ReminderSentSerializer(api.Serializer):
    detail = serializers.CharField()


class ReportQuerySerializer(api.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    export = serializers.ChoiceField(choices=["json", "csv"], required=False, default="json")

    def validate(self, attrs):
        from ..reports import MAX_REPORT_DAYS

        if attrs["end_date"] < attrs["start_date"]:
            raise serializers.ValidationError({"end_date": ["Must not be before start_date."]})
        if (attrs["end_date"] - attrs["start_date"]).days >= MAX_REPORT_DAYS:
            raise serializers.ValidationError(
                {"end_date": [f"A report covers at most {MAX_REPORT_DAYS} days."]}
            )
        return attrs


# --- the SLA report's shape (documentation; `reports.sla_report` builds the dict) -------------


class AverageMedianSerializer(api.Serializer):
    average = serializers.FloatField(allow_null=True)
    median = serializers.FloatField(allow_null=True)


class ComplianceSerializer(api.Serializer):
    tickets = serializers.IntegerField()
    breached = serializers.IntegerField()
    compliance_rate = serializers.FloatField(allow_null=True, help_text="Null without tickets.")
    response_breaches = serializers.IntegerField()
    resolution_breaches = serializers.IntegerField()
    first_response_minutes = AverageMedianSerializer(help_text="Working minutes.")
    resolution_minutes = AverageMedianSerializer(help_text="Working minutes.")


class BreachSerializer(api.Serializer):
    ticket = serializers.CharField()
    subject = serializers.CharField()
    clock = serializers.ChoiceField(choices=["first_response", "resolution"])
    priority = serializers.CharField()
    team = serializers.CharField(allow_null=True)
    breached_at = serializers.DateTimeField()
    breach_minutes = serializers.FloatField()
    ongoing = serializers.BooleanField()


def _by(dimension: str):
    return serializers.DictField(
        child=ComplianceSerializer(), help_text=f"Keyed by {dimension} (`none` for none)."
    )


class SLAReportSerializer(api.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    overall = ComplianceSerializer()
    by_priority = _by("priority")
    by_category = _by("category slug")
    by_channel = _by("channel")
    by_tier = _by("customer tier")
    by_team = _by("team slug")
    breaches = BreachSerializer(many=True)
