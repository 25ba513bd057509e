from rest_framework import serializers

from core.models import ApiToken, Notification, User
from core.roles import user_roles


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at"]


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
