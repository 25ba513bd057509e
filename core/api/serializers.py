from collections.abc import Mapping

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.authentication import token_expiry
from core.models import ApiToken, Notification, User
from core.roles import user_roles

# --- the base every API serializer uses ----------------------------------------------------------


class StrictInput:
    """Input of the wrong JSON type is a 400 naming the field, never coerced.

    DRF's CharField turns a number into its string (`{"subject": 42}` → "42") and its
    ChoiceField matches `1` to the choice "1"; a client that sends a number or a list where text
    belongs has a bug we want it to see. Every string-like writable field (CharField and its
    subclasses: e-mail, slug, URL, regex; a ChoiceField of string choices; the children of a
    ListField of them) must receive a JSON string, or null where the field allows it.
    Form-encoded and multipart input is all strings anyway and passes.

    Mixed into `Serializer` and `ModelSerializer` below; app serializers derive from those (a
    test walks every serializer of every app and fails for one that does not).
    """

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            errors = {}
            for field in self._writable_fields:
                message = _wrong_type(field, data)
                if message:
                    errors[field.field_name] = [message]
            if errors:
                raise serializers.ValidationError(errors, code="invalid")
        return super().to_internal_value(data)


def _expects_text(field) -> bool:
    if isinstance(field, serializers.MultipleChoiceField):
        return False
    if isinstance(field, serializers.ChoiceField):
        return all(isinstance(choice, str) for choice in field.choices)
    return isinstance(field, serializers.CharField)


def _wrong_type(field, data) -> str | None:
    value = data.get(field.field_name, serializers.empty)
    if value is serializers.empty or value is None:
        return None
    if _expects_text(field) and not isinstance(value, str):
        return "Must be a string."
    if (
        isinstance(field, serializers.ListField)
        and _expects_text(field.child)
        and isinstance(value, list)
        and any(not isinstance(item, str) for item in value)
    ):
        return "Must be a list of strings."
    return None


class Serializer(StrictInput, serializers.Serializer):
    pass


class ModelSerializer(StrictInput, serializers.ModelSerializer):
    pass


class ApiTokenSerializer(ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
        read_only_fields = fields


class ApiTokenCreateSerializer(Serializer):
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


class MeSerializer(ModelSerializer):
    roles = serializers.SerializerMethodField()
    organization = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "time_zone", "language", "organization", "roles"]
        read_only_fields = ["id", "email", "organization", "roles"]

    def get_roles(self, user) -> list[str]:
        return sorted(user_roles(user))


class NotificationSerializer(ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "title", "body", "url", "created_at", "read_at"]
        read_only_fields = fields


class MarkReadSerializer(Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=500,
        help_text="Notifications to mark read; omit to mark all read.",
    )


# --- fields ---------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)  # the queryset exists only per request
class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary key looked up only among what the caller may pick for this input.

    `scope(context)` returns that queryset (the serializer's context: `request` and whatever the
    view adds, e.g. the ticket). An id outside it gets DRF's own answer for a missing one
    ("Invalid pk "7" - object does not exist."), so ids cannot be probed for who exists.
    Without a request in the context the scope decides alone (it should then return none).
    """

    def __init__(self, *, scope, **kwargs):
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.scope(self.context)
