from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("documents", views.DocumentViewSet, basename="insurance-document")
router.register("reminders", views.ReminderViewSet, basename="insurance-reminder")

urlpatterns = router.urls
