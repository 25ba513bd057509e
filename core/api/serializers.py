from rest_framework import serializers

from core.api.authentication import token_expiry
from core.models import ApiToken, Notification, User
from core.roles import user_roles


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    """What creating a token takes. The password is checked by the view, never stored."""

    name = serializers.CharField(max_length=100)
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text=(
            "Your password; needed unless this session signed in within the last few minutes. "
            "A request authenticated by an API token can never create tokens."
        ),
    )
    expires_at = serializers.DateTimeField(required=False)
    expires_in_days = serializers.IntegerField(
        required=False, help_text="Lifetime in days (at most API_TOKEN_MAX_LIFETIME_DAYS)."
    )

    def validate(self, attrs):
        attrs["expires_at"] = token_expiry(
            expires_at=attrs.get("expires_at"), expires_in_days=attrs.pop("expires_in_days", None)
        )
        return attrs


class NewApiTokenSerializer(ApiTokenSerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]


class MeSerializer(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()
    organization = serializers.StringRelatedField()

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "time_zone", "language", "organization", "roles"]
        read_only_fields = ["id", "email", "organization", "roles"]

    def get_roles(self, user) -> list[str]:
        return sorted(user_roles(user))


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "title", "body", "url", "created_at", "read_at"]
        read_only_fields = fields


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=500,
        help_text="Notifications to mark read; omit to mark all read.",
    )
