"""Audit events of tickets: one row per change, written in the changing transaction."""

import threading
from contextlib import contextmanager

from django.utils import timezone

from .models import Ticket, TicketEvent

Kind = TicketEvent.Kind

# Events a customer sees on their ticket's timeline; everything else is for staff.
PUBLIC_KINDS = frozenset({Kind.CREATED, Kind.STATUS_CHANGED, Kind.MERGED, Kind.FOLLOW_UP_CREATED})


_collector = threading.local()


@contextmanager
def collected():
    """Write the events recorded inside the block with one INSERT at its end (for sweeps)."""
    if getattr(_collector, "rows", None) is not None:
        yield
        return
    rows: list[TicketEvent] = []
    _collector.rows = rows
    try:
        yield
    finally:
        _collector.rows = None
    TicketEvent.objects.bulk_create(rows, batch_size=500)


def record(
    *,
    ticket: Ticket,
    kind: str,
    actor=None,
    before: dict | None = None,
    after: dict | None = None,
    note: str = "",
) -> TicketEvent:
    event = TicketEvent(
        ticket=ticket,
        actor=actor if actor is not None and actor.is_authenticated else None,
        kind=kind,
        before=before or {},
        after=after or {},
        note=note,
        is_internal=kind not in PUBLIC_KINDS,
        created_at=timezone.now(),
    )
    collecting = getattr(_collector, "rows", None)
    if collecting is not None:
        collecting.append(event)
    else:
        event.save()
    return event
