"""The Incidents domain: incidents, their timeline, post-mortems and the public status page
(DESIGN §6)."""

from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured

TICKET_TARGETS = ("resolved", "waiting_on_customer")


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self):
        from . import privacy  # what it holds about a person (core.privacy)

        privacy.register()
        from django.conf import settings

        from core.roles import Role, register_role_permissions

        from . import webhooks, workflow  # noqa: F401  (workflow registers the state machine)

        webhooks.register()
        from .articles import connect_signals

        connect_signals()
        from support.signals import request_filed

        from .deflection import note_request_filed

        request_filed.connect(note_request_filed, dispatch_uid="incidents.banner-deflection")

        if settings.INCIDENTS_RESOLVED_TICKET_STATUS not in TICKET_TARGETS:
            raise ImproperlyConfigured(
                "INCIDENTS_RESOLVED_TICKET_STATUS must be one of " + ", ".join(TICKET_TARGETS)
            )
        register_role_permissions(Role.AGENT, AGENT_PERMISSIONS)
        register_role_permissions(Role.SUPPORT_LEAD, AGENT_PERMISSIONS | LEAD_PERMISSIONS)


AGENT_PERMISSIONS = {
    "incidents.view_incident",
    "incidents.add_incident",
    "incidents.change_incident",
    "incidents.view_component",
    "incidents.view_maintenance",
}
LEAD_PERMISSIONS = {
    "incidents.add_component",
    "incidents.change_component",
    "incidents.add_maintenance",
    "incidents.change_maintenance",
    "incidents.view_incidentevent",
}
