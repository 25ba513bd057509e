from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("requests", views.PrivacyRequestViewSet, basename="privacy-request")
router.register("holds", views.LegalHoldViewSet, basename="privacy-hold")

urlpatterns = [
    path("retention/", views.RetentionView.as_view(), name="privacy-retention"),
    *router.urls,
]
