"""Incident events as outbound webhooks (core.webhooks): the names incidents emits, the payload.

An integration (a paging tool, a CRM, a chat channel) follows an incident's life: its number,
severity, status, components and timestamps, and the public updates' text, which the status
page shows anyway. Internal updates are never sent: only that one was posted is not news.
"""

from core.webhooks import registry

EVENTS = {
    "incident.created": "An incident was declared.",
    "incident.updated": "An incident's fields (severity, title, impact...) changed.",
    "incident.acknowledged": "Someone took an incident (MTTA stops).",
    "incident.status_changed": "An incident moved to another status.",
    "incident.resolved": "An incident was resolved.",
    "incident.update_posted": "A public update was posted on an incident.",
    "maintenance.scheduled": "A maintenance window was scheduled.",
    "maintenance.cancelled": "A maintenance window was cancelled.",
}


def register() -> None:
    for name, description in EVENTS.items():
        registry.register_event(name, description)


def _listened(event: str) -> bool:
    return any(event in s.events for s in registry.active_subscriptions())


def incident_payload(incident) -> dict:
    return {
        "id": incident.pk,
        "number": incident.number,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "category": incident.category,
        "impact": incident.impact,
        "is_public": incident.is_public,
        "components": sorted(incident.components.values_list("name", flat=True)),
        "commander_id": incident.commander_id,
        "team_id": incident.team_id,
        "detected_at": incident.detected_at,
        "acknowledged_at": incident.acknowledged_at,
        "resolved_at": incident.resolved_at,
    }


def on_incident(event: str, incident, **extra) -> None:
    """Queue `event`'s deliveries for `incident` (in the changing transaction)."""
    if _listened(event):
        registry.emit(event, {"incident": incident_payload(incident), **extra})


def on_maintenance(event: str, maintenance) -> None:
    if not _listened(event):
        return
    registry.emit(
        event,
        {
            "maintenance": {
                "id": maintenance.pk,
                "title": maintenance.title,
                "starts_at": maintenance.starts_at,
                "ends_at": maintenance.ends_at,
                "cancelled_at": maintenance.cancelled_at,
                "components": sorted(maintenance.components.values_list("name", flat=True)),
            }
        },
    )
