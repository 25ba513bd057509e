from rest_framework import serializers

from ..models import ModelArtifact


class SuggestionSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=ModelArtifact.Target.choices)
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


class SuggestionListSerializer(serializers.Serializer):
    suggestions = SuggestionSerializer(many=True)


class SuggestionDecisionSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=ModelArtifact.Target.choices)


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
