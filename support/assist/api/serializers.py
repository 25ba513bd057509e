from rest_framework import serializers

from core.api.serializers import Serializer

from ..models import FIELD_CHOICES


class SuggestionSerializer(Serializer):
    field = serializers.ChoiceField(choices=FIELD_CHOICES)
    value = serializers.CharField(help_text="Category or team slug, or priority.")
    label = serializers.CharField()
    current = serializers.CharField(help_text="The ticket's value now ('' when unset).")
    confidence = serializers.FloatField(
        help_text="Calibrated: the share of held-out tickets at this confidence that were right."
    )
    model_version = serializers.CharField(help_text="The model artifact's sha256.")
    model_macro_f1 = serializers.FloatField(
        allow_null=True, help_text="The model's macro-F1 on its held-out tickets."
    )


class SuggestionListSerializer(Serializer):
    suggestions = SuggestionSerializer(many=True)


class SuggestionDecisionSerializer(Serializer):
    field = serializers.ChoiceField(choices=FIELD_CHOICES)


def shown_data(shown) -> dict:
    s = shown.suggestion
    return {
        "field": s.field,
        "value": s.value,
        "label": shown.label,
        "current": shown.current,
        "confidence": round(s.confidence, 4),
        "model_version": s.artifact.sha256 if s.artifact_id else "",
        "model_macro_f1": shown.model_macro_f1,
    }


class QuerySerializer(Serializer):
    question = serializers.CharField(max_length=2000)
    ticket = serializers.CharField(
        required=False, allow_blank=True, help_text="Context: a ticket's id or number you can see."
    )
    chat = serializers.UUIDField(
        required=False,
        help_text="Context: a chat's id (staff: any chat; a customer: their own chat).",
    )


class CitationSerializer(Serializer):
    number = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField()


class RequestedToolSerializer(Serializer):
    name = serializers.CharField()
    arguments = serializers.DictField()


class AnswerSerializer(Serializer):
    answer = serializers.CharField(allow_blank=True, help_text="Blank when handed off.")
    citations = CitationSerializer(many=True)
    confidence = serializers.FloatField(help_text="The best passage's similarity, 0 to 1.")
    handoff = serializers.BooleanField(help_text="True: an agent should answer this.")
    provider = serializers.CharField()
    interaction = serializers.IntegerField(help_text="The logged interaction's id.")
    requested_tools = RequestedToolSerializer(
        many=True, help_text="Tools the model asked for: recorded, never run by the model."
    )


class ToolCallSerializer(Serializer):
    arguments = serializers.DictField(help_text="As the tool's JSON schema says.")


class ToolResultSerializer(Serializer):
    tool = serializers.CharField()
    result = serializers.DictField()


class DraftRequestSerializer(Serializer):
    kind = serializers.ChoiceField(
        choices=[("reply", "a reply draft"), ("summary", "a summary of the thread")]
    )


class DraftSerializer(Serializer):
    kind = serializers.CharField()
    text = serializers.CharField(help_text="The model's draft: shown to the agent, never sent.")
    interaction = serializers.IntegerField(help_text="The logged interaction's id.")
    provider = serializers.CharField()
    model = serializers.CharField()


class DraftDecisionSerializer(Serializer):
    outcome = serializers.ChoiceField(
        choices=[
            (
                "in_composer",
                "taken into the composer (settled when the agent's next message "
                "on the ticket is written: accepted if unchanged, edited otherwise)",
            ),
            ("accepted", "sent unchanged"),
            ("edited", "edited, then sent"),
            ("rejected", "rejected"),
        ]
    )


class DraftStateSerializer(Serializer):
    interaction = serializers.IntegerField()
    outcome = serializers.CharField()
