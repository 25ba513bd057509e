"""Ticket events as outbound webhooks (core.webhooks): the names support emits and the payload.

The payload is what an integration (a CRM) needs to follow a ticket: its number, state and
customer; never an internal note or a message body.
"""

from core.webhooks import registry

from .models import TicketEvent

Kind = TicketEvent.Kind

EVENTS = {
    "ticket.created": "A ticket was opened.",
    "ticket.updated": "A ticket's fields, priority or assignee changed.",
    "ticket.status_changed": "A ticket moved to another status.",
    "ticket.replied": "A public reply was added (customer or agent).",
    "ticket.rated": "The customer rated the ticket.",
    "ticket.sla_warning": "An SLA clock passed its warning threshold.",
    "ticket.sla_breached": "An SLA clock breached.",
    "ticket.rule": "A trigger or automation's “call a webhook” action.",
}
EVENT_OF_KIND = {
    Kind.CREATED: "ticket.created",
    Kind.UPDATED: "ticket.updated",
    Kind.PRIORITY_CHANGED: "ticket.updated",
    Kind.ASSIGNED: "ticket.updated",
    Kind.UNASSIGNED: "ticket.updated",
    Kind.STATUS_CHANGED: "ticket.status_changed",
    Kind.REPLIED: "ticket.replied",
    Kind.RATED: "ticket.rated",
    Kind.SLA_WARNING: "ticket.sla_warning",
    Kind.SLA_BREACHED: "ticket.sla_breached",
}


def register() -> None:
    for name, description in EVENTS.items():
        registry.register_event(name, description)


def ticket_payload(ticket) -> dict:
    return {
        "id": ticket.pk,
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "channel": ticket.channel,
        "category": ticket.category.slug if ticket.category_id else None,
        "team_id": ticket.team_id,
        "organization_id": ticket.organization_id,
        "customer_email": ticket.customer_email,
        "assigned_to_id": ticket.assigned_to_id,
        "created_at": ticket.created_at,
    }


def _plain(values: dict | None) -> dict:
    return {
        k: v
        for k, v in (values or {}).items()
        if isinstance(v, (str, int, float, bool, list, type(None)))
    }


def on_ticket_event(*, ticket, kind: str, before=None, after=None) -> None:
    """Queue the webhook deliveries of a ticket event (in the changing transaction)."""
    event = EVENT_OF_KIND.get(kind)
    if event is None:
        return
    if not any(event in s.events for s in registry.active_subscriptions()):
        return
    registry.emit(
        event, {"ticket": ticket_payload(ticket), "before": _plain(before), "after": _plain(after)}
    )
