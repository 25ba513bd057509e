from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("sessions", views.ChatSessionViewSet, basename="chat-session")
router.register("widgets", views.ChatWidgetViewSet, basename="chat-widget")

urlpatterns = router.urls
