from django.urls import path
from rest_framework.routers import SimpleRouter

from core.webhooks import api as webhooks

from . import views

router = SimpleRouter()
router.register("auth/tokens", views.ApiTokenViewSet, basename="api-token")
router.register("notifications", views.NotificationViewSet, basename="notification")
router.register("webhooks", webhooks.WebhookSubscriptionViewSet, basename="webhook")

urlpatterns = [
    path("auth/me/", views.MeView.as_view(), name="me"),
    path("webhooks/events/", webhooks.WebhookEventsView.as_view(), name="webhook-events"),
    *router.urls,
]
