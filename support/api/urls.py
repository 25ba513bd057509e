from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from . import rules_views, sla_views, views
from .views import TICKET_REF

router = SimpleRouter()
router.register("tickets", views.TicketViewSet, basename="ticket")
router.register("categories", views.CategoryViewSet, basename="category")
router.register("teams", views.TeamViewSet, basename="team")
router.register("agents", views.AgentViewSet, basename="agent")
router.register("templates", views.ResponseTemplateViewSet, basename="response-template")
router.register("sla-policies", sla_views.SLAPolicyViewSet, basename="sla-policy")
router.register(
    "escalation-policies", sla_views.EscalationPolicyViewSet, basename="escalation-policy"
)
router.register("triggers", rules_views.TriggerViewSet, basename="trigger")
router.register("automations", rules_views.AutomationViewSet, basename="automation")

TICKET = rf"^tickets/(?P<ticket>{TICKET_REF})"
urlpatterns = [
    re_path(rf"{TICKET}/sla/$", sla_views.TicketSLAView.as_view(), name="ticket-sla"),
    re_path(
        rf"{TICKET}/escalate/$", sla_views.TicketEscalateView.as_view(), name="ticket-escalate"
    ),
    re_path(
        rf"{TICKET}/escalations/$",
        sla_views.TicketEscalationsView.as_view(),
        name="ticket-escalations",
    ),
    re_path(rf"{TICKET}/remind/$", sla_views.TicketRemindView.as_view(), name="ticket-remind"),
    path("sla-reports/", sla_views.SLAReportView.as_view(), name="sla-report"),
    *router.urls,
]
