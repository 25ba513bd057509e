"""Audit events of tickets: one row per change, written in the changing transaction."""

from core import audit

from .models import Ticket, TicketEvent

Kind = TicketEvent.Kind

# Events a customer sees on their ticket's timeline; everything else is for staff.
PUBLIC_KINDS = frozenset({Kind.CREATED, Kind.STATUS_CHANGED, Kind.MERGED, Kind.FOLLOW_UP_CREATED})


def record(
    *,
    ticket: Ticket,
    kind: str,
    actor=None,
    before: dict | None = None,
    after: dict | None = None,
    note: str = "",
    metadata: dict | None = None,
    immediate: bool = False,
) -> TicketEvent:
    """Write the event (in the caller's transaction) and hand it to the triggers and webhooks
    listening to its kind, which run after the commit."""
    from .rules.engine import on_event
    from .webhooks import on_ticket_event

    on_event(ticket=ticket, kind=kind, actor=actor, before=before, after=after)
    on_ticket_event(ticket=ticket, kind=kind, before=before, after=after)
    return audit.record(
        TicketEvent,
        ticket=ticket,
        kind=kind,
        actor=actor,
        before=before,
        after=after,
        metadata=metadata,
        note=note,
        is_internal=kind not in PUBLIC_KINDS,
        immediate=immediate,
    )
