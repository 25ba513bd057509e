"""Audit events of tickets: one row per change, written in the changing transaction."""

from django.utils import timezone

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
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        actor=actor if actor is not None and actor.is_authenticated else None,
        kind=kind,
        before=before or {},
        after=after or {},
        note=note,
        is_internal=kind not in PUBLIC_KINDS,
        created_at=timezone.now(),
    )
