from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("auth/tokens", views.ApiTokenViewSet, basename="api-token")
router.register("notifications", views.NotificationViewSet, basename="notification")

urlpatterns = [path("auth/me/", views.MeView.as_view(), name="me"), *router.urls]
