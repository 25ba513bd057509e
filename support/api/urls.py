from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("tickets", views.TicketViewSet, basename="ticket")
router.register("categories", views.CategoryViewSet, basename="category")
router.register("teams", views.TeamViewSet, basename="team")
router.register("agents", views.AgentViewSet, basename="agent")
router.register("templates", views.ResponseTemplateViewSet, basename="response-template")

urlpatterns = router.urls
