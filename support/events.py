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
