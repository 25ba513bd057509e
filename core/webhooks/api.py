"""`/api/v1/webhooks/`: subscriptions (admins), their deliveries, a test, the event names."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import ActionPermissions, allows
from core.api.serializers import ModelSerializer as StrictModelSerializer
from core.api.serializers import Serializer as StrictSerializer
from core.models import WebhookDelivery, WebhookSubscription

from . import registry, services
from .permissions import can_manage_webhooks


class SubscriptionSerializer(StrictModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "name",
            "url",
            "events",
            "active",
            "consecutive_failures",
            "disabled_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SubscriptionWithSecretSerializer(SubscriptionSerializer):
    """The HMAC key to verify signatures: shown on creation and when rotated, else null."""

    secret = serializers.SerializerMethodField()

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields

    def get_secret(self, subscription) -> str | None:
        return subscription.secret if self.context.get("show_secret") else None


class SubscriptionInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    url = serializers.CharField(max_length=500, help_text="http(s); public hosts only.")
    events = serializers.ListField(child=serializers.CharField(max_length=100), min_length=1)
    active = serializers.BooleanField(required=False)
    rotate_secret = serializers.BooleanField(
        required=False, help_text="PATCH: a new secret, returned once."
    )


class DeliverySerializer(StrictModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "delivery_id",
            "event",
            "status",
            "attempts",
            "response_code",
            "last_error",
            "log",
            "created_at",
            "last_attempt_at",
            "delivered_at",
        ]
        read_only_fields = fields


class EventTypeSerializer(StrictSerializer):
    name = serializers.CharField()
    description = serializers.CharField()


EXAMPLE = {
    "name": "CRM",
    "url": "https://crm.example.com/hooks/support",
    "events": ["ticket.created", "ticket.status_changed"],
}


@extend_schema_view(
    list=extend_schema(summary="Webhook subscriptions"),
    retrieve=extend_schema(summary="A subscription"),
    create=extend_schema(
        summary="Subscribe a URL to events (the secret is returned once)",
        request=SubscriptionInputSerializer,
        responses={201: SubscriptionWithSecretSerializer},
        examples=[OpenApiExample("CRM", value=EXAMPLE, request_only=True)],
    ),
    partial_update=extend_schema(
        summary="Change, re-enable, or rotate the secret",
        request=SubscriptionInputSerializer,
        responses={200: SubscriptionWithSecretSerializer},
        examples=[OpenApiExample("Re-enable", value={"active": True}, request_only=True)],
    ),
    destroy=extend_schema(summary="Delete a subscription and its delivery log"),
    test=extend_schema(
        summary="Send a test delivery now",
        request=None,
        responses={202: DeliverySerializer},
    ),
    deliveries=extend_schema(
        summary="The delivery log, newest first", responses={200: DeliverySerializer(many=True)}
    ),
)
class WebhookSubscriptionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = SubscriptionSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {"*": [allows(can_manage_webhooks)]}
    filter_backends: list = []
    queryset = WebhookSubscription.objects.order_by("name", "pk")

    def create(self, request):
        body = SubscriptionInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subscription = services.create_subscription(by=request.user, data=dict(body.validated_data))
        shown = SubscriptionWithSecretSerializer(subscription, context={"show_secret": True})
        return Response(shown.data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        body = SubscriptionInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        subscription = services.update_subscription(
            subscription=self.get_object(), by=request.user, data=dict(body.validated_data)
        )
        context = {"show_secret": bool(body.validated_data.get("rotate_secret"))}
        return Response(SubscriptionWithSecretSerializer(subscription, context=context).data)

    def perform_destroy(self, instance):
        services.delete_subscription(subscription=instance, by=self.request.user)

    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        delivery = services.send_test(subscription=self.get_object(), by=request.user)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        subscription = self.get_object()
        page = self.paginate_queryset(subscription.deliveries.order_by("-created_at", "-pk"))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)


class WebhookEventsView(APIView):
    """The event names a subscription may listen to (each app registers its own)."""

    permission_classes = [allows(can_manage_webhooks)]

    @extend_schema(summary="Event names", responses={200: EventTypeSerializer(many=True)})
    def get(self, request):
        return Response(EventTypeSerializer(registry.events(), many=True).data)
