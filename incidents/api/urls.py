from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
# Before the incidents themselves, whose `{id}` could otherwise be asked to match these.
router.register("components", views.ComponentViewSet, basename="incident-component")
router.register("maintenance", views.MaintenanceViewSet, basename="incident-maintenance")
router.register("", views.IncidentViewSet, basename="incident")

urlpatterns = router.urls
