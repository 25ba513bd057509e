from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import RetrieveUpdateAPIView
from rest_framework.response import Response

from core.api.authentication import create_token, revoke_token
from core.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from core.api.permissions import IsAuthenticatedUser
from core.api.serializers import (
    ApiTokenSerializer,
    MarkReadSerializer,
    MeSerializer,
    NewApiTokenSerializer,
    NotificationSerializer,
)
from core.models import ApiToken, Notification
from core.notifications.services import mark_notifications_read
from core.selectors import notifications_for, unread_notification_count


class ApiTokenViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's own API tokens. DELETE revokes (the row is kept for the audit)."""

    serializer_class = ApiTokenSerializer
    permission_classes = [IsAuthenticatedUser]
    throttle_scope = "create"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user)

    def get_throttles(self):
        # Only creation is scoped to the stricter `create` rate.
        if self.action != "create":
            self.throttle_scope = None
        return super().get_throttles()

    @extend_schema(
        request=ApiTokenSerializer,
        responses={201: NewApiTokenSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, key = create_token(
            user=request.user,
            name=serializer.validated_data["name"],
            expires_at=serializer.validated_data.get("expires_at"),
        )
        token.key = key
        return Response(NewApiTokenSerializer(token).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        revoke_token(token=instance)


class MeView(RetrieveUpdateAPIView):
    """The signed-in user; PATCH changes their time zone, language and name."""

    serializer_class = MeSerializer
    permission_classes = [IsAuthenticatedUser]
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self):
        return self.request.user


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's in-app notifications, newest first."""

    serializer_class = NotificationSerializer
    permission_classes = [IsAuthenticatedUser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return notifications_for(user=self.request.user)

    @extend_schema(
        responses=inline_serializer("UnreadCount", {"unread": serializers.IntegerField()})
    )
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request):
        return Response({"unread": unread_notification_count(user=request.user)})

    @extend_schema(
        request=MarkReadSerializer,
        responses=inline_serializer("MarkedRead", {"marked": serializers.IntegerField()}),
    )
    @action(detail=False, methods=["post"], url_path="mark-read")
    def mark_read(self, request):
        serializer = MarkReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marked = mark_notifications_read(
            user=request.user, ids=serializer.validated_data.get("ids")
        )
        return Response({"marked": marked})
