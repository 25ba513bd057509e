"""Triggers and automations in the API: what a rule is, what an edit may send."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers import ModelSerializer as StrictModelSerializer
from core.api.serializers import Serializer as StrictSerializer

from ..models.rules import Anchor, Match, Rule, RuleEvent, TriggerEvent
from ..rules import actions, conditions

CONDITION_HELP = "Conditions: `{field, op, value}`; fields: " + ", ".join(
    f"`{f.name}` ({'/'.join(f.ops)})" for f in conditions.FIELDS.values()
)
ACTION_HELP = "Actions: `{type, value}`; types: " + ", ".join(f"`{t}`" for t in actions.TYPES)


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "field": {"type": "string", "enum": list(conditions.FIELDS)},
                "op": {"type": "string"},
                "value": {},
            },
            "required": ["field", "op", "value"],
        },
    }
)
class ConditionsField(serializers.JSONField):
    pass


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"type": {"type": "string", "enum": list(actions.TYPES)}, "value": {}},
            "required": ["type"],
        },
    }
)
class ActionsField(serializers.JSONField):
    pass


class RuleSerializer(StrictModelSerializer):
    author = serializers.SerializerMethodField()
    conditions = ConditionsField(help_text=CONDITION_HELP)
    actions = ActionsField(help_text=ACTION_HELP)
    events = serializers.ListField(child=serializers.ChoiceField(TriggerEvent.choices))
    anchor = serializers.CharField(help_text="Automations: the time counted from; '' for triggers.")

    class Meta:
        model = Rule
        fields = [
            "id",
            "kind",
            "name",
            "description",
            "position",
            "enabled",
            "match",
            "conditions",
            "actions",
            "events",
            "stop_processing",
            "anchor",
            "after_minutes",
            "author",
            "version",
            "disabled_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_author(self, rule) -> str | None:
        return rule.author.display_name if rule.author_id else None


class TriggerInputSerializer(StrictSerializer):
    """What a trigger is made of; the services check conditions, actions and the author."""

    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    enabled = serializers.BooleanField(required=False, default=False)
    match = serializers.ChoiceField(Match.choices, required=False, default=Match.ALL)
    conditions = ConditionsField(required=False, default=list, help_text=CONDITION_HELP)
    actions = ActionsField(help_text=ACTION_HELP)
    events = serializers.ListField(
        child=serializers.ChoiceField(TriggerEvent.choices), min_length=1, max_length=8
    )
    stop_processing = serializers.BooleanField(required=False, default=False)


class AutomationInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    enabled = serializers.BooleanField(required=False, default=False)
    match = serializers.ChoiceField(Match.choices, required=False, default=Match.ALL)
    conditions = ConditionsField(required=False, default=list, help_text=CONDITION_HELP)
    actions = ActionsField(help_text=ACTION_HELP)
    anchor = serializers.ChoiceField(Anchor.choices)
    after_minutes = serializers.IntegerField(min_value=1, max_value=366 * 24 * 60)


class EnableSerializer(StrictSerializer):
    enabled = serializers.BooleanField()


class MoveSerializer(StrictSerializer):
    direction = serializers.ChoiceField(["up", "down"])


class DryRunSerializer(StrictSerializer):
    event = serializers.ChoiceField(
        TriggerEvent.choices, required=False, help_text="Triggers: as if this event happened."
    )
    days = serializers.IntegerField(required=False, min_value=1, max_value=90, default=7)


class DryRunTicketSerializer(StrictSerializer):
    ticket = serializers.CharField()
    ticket_id = serializers.IntegerField()
    subject = serializers.CharField()
    effects = serializers.ListField(child=serializers.DictField())


class DryRunResultSerializer(StrictSerializer):
    examined = serializers.IntegerField()
    matched = serializers.IntegerField()
    tickets = DryRunTicketSerializer(many=True)


class RuleEventSerializer(StrictModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = RuleEvent
        fields = ["id", "kind", "version", "actor", "before", "after", "created_at"]
        read_only_fields = fields

    def get_actor(self, event) -> str | None:
        return event.actor.display_name if event.actor_id else None
