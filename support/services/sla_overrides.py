from django.db import transaction
from django.utils import timezone

from core.errors import DomainError
from core.models import User

from .. import events, permissions, sla
from ..models import Ticket
from ..models.choices import Priority
from ..models.sla import MAX_TARGET_MINUTES
from .common import lock_ticket

Kind = events.Kind


@transaction.atomic
def override_sla(
    *,
    ticket: Ticket,
    by: User,
    reason: str,
    priority: str | None = None,
    first_response_minutes: int | None = None,
    resolution_minutes: int | None = None,
) -> Ticket:
    """A support lead changes the priority and/or the targets; due times are recomputed from the
    ticket's start and the change is audited with its reason."""
    permissions.can_override_sla.require(by, ticket)
    if not reason or not reason.strip():
        raise DomainError("Say why the SLA is changed.", errors={"reason": ["Required."]})
    if priority is not None and priority not in Priority.values:
        raise DomainError(f"Unknown priority {priority!r}.", errors={"priority": ["Invalid."]})
    for name, value in (
        ("first_response_minutes", first_response_minutes),
        ("resolution_minutes", resolution_minutes),
    ):
        if value is not None and value < 1:
            raise DomainError("Targets are at least one minute.", errors={name: ["Too small."]})
        if value is not None and value > MAX_TARGET_MINUTES:
            raise DomainError(
                f"Targets are at most {MAX_TARGET_MINUTES} minutes (a year).",
                errors={name: ["Too large."]},
            )
    ticket = lock_ticket(ticket.pk)
    before = _snapshot(ticket)
    now = timezone.now()
    if priority is not None:
        ticket.priority = priority
    if first_response_minutes is not None or resolution_minutes is not None:
        ticket.sla_overridden_at = now
        ticket.sla_overridden_by = by
        ticket.sla_override_reason = reason.strip()
    fields = sla.assign_policy(ticket, now=now)
    if first_response_minutes is not None:
        ticket.response_target_minutes = first_response_minutes
    if resolution_minutes is not None:
        ticket.resolution_target_minutes = resolution_minutes
    sla.recompute_due_times(ticket, now=now)
    ticket.save(
        update_fields=[
            "priority",
            "sla_overridden_at",
            "sla_overridden_by",
            "sla_override_reason",
            *fields,
            "updated_at",
        ]
    )
    events.record(
        ticket=ticket,
        kind=Kind.SLA_CHANGED,
        actor=by,
        before=before,
        after=_snapshot(ticket),
        note=reason.strip(),
    )
    return ticket


def _snapshot(ticket: Ticket) -> dict:
    def iso(value):
        return value.isoformat() if value else None

    return {
        "priority": ticket.priority,
        "first_response_minutes": ticket.response_target_minutes,
        "resolution_minutes": ticket.resolution_target_minutes,
        "first_response_due_at": iso(ticket.first_response_due_at),
        "resolution_due_at": iso(ticket.resolution_due_at),
    }
