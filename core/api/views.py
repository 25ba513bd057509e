from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import Throttled
from rest_framework.generics import RetrieveUpdateAPIView
from rest_framework.response import Response

from core import ratelimits
from core.api.authentication import check_may_create_token, create_token, revoke_token
from core.api.permissions import IsAuthenticatedUser, allows
from core.api.serializers import (
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    MarkReadSerializer,
    MeSerializer,
    NewApiTokenSerializer,
    NotificationSerializer,
)
from core.models import ApiToken, Notification
from core.notifications.services import mark_notifications_read
from core.permissions import can_manage_own_tokens
from core.selectors import notifications_for, unread_notification_count


class ApiTokenViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's own API tokens. DELETE revokes (the row is kept for the audit)."""

    serializer_class = ApiTokenSerializer
    permission_classes = [allows(can_manage_own_tokens)]
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

    # Not @idempotent: a replayed answer would have to keep the clear key in the database for a
    # day. A retried creation makes a second token, which its owner sees and can revoke.
    @extend_schema(request=ApiTokenCreateSerializer, responses={201: NewApiTokenSerializer})
    def create(self, request, *args, **kwargs):
        if ratelimits.exceeded(request, ratelimits.TOKEN_CREATE):
            raise Throttled(detail="Too many tokens created; try again later.")
        serializer = ApiTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        check_may_create_token(request=request, password=serializer.validated_data.get("password"))
        token, key = create_token(
            user=request.user,
            name=serializer.validated_data["name"],
            expires_at=serializer.validated_data.get("expires_at"),
        )
        token.key = key
        response = Response(NewApiTokenSerializer(token).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"  # the key is in the body
        return response

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
