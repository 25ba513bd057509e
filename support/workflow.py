"""The ticket state machine as data: used by services, API, desk forms and the docs alike."""

from core.errors import Conflict

from .models.choices import Status

S = Status

# from -> allowed targets (DESIGN §4). Nothing else changes a ticket's status.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.OPEN: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.WAITING_ON_CUSTOMER, S.RESOLVED, S.CANCELLED}),
    S.ASSIGNED: frozenset(
        {
            S.OPEN,
            S.IN_PROGRESS,
            S.WAITING_ON_CUSTOMER,
            S.WAITING_ON_INTERNAL,
            S.RESOLVED,
            S.CANCELLED,
        }
    ),
    S.IN_PROGRESS: frozenset(
        {S.WAITING_ON_CUSTOMER, S.WAITING_ON_INTERNAL, S.RESOLVED, S.CANCELLED}
    ),
    S.WAITING_ON_CUSTOMER: frozenset({S.IN_PROGRESS, S.RESOLVED, S.CANCELLED}),
    S.WAITING_ON_INTERNAL: frozenset({S.IN_PROGRESS, S.RESOLVED, S.CANCELLED}),
    S.RESOLVED: frozenset({S.CLOSED, S.IN_PROGRESS}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}

# What a customer may do to their own ticket; staff may make every transition of the table.
CUSTOMER_TRANSITIONS: dict[str, frozenset[str]] = {
    S.RESOLVED: frozenset({S.CLOSED, S.IN_PROGRESS}),  # confirm, or reopen
    S.OPEN: frozenset({S.CANCELLED}),
    S.ASSIGNED: frozenset({S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.CANCELLED}),
    S.WAITING_ON_CUSTOMER: frozenset({S.CANCELLED}),
    S.WAITING_ON_INTERNAL: frozenset({S.CANCELLED}),
}


def allowed_targets(status: str, *, staff: bool = True) -> list[str]:
    table = TRANSITIONS if staff else CUSTOMER_TRANSITIONS
    return sorted(table.get(status, frozenset()))


def check_transition(current: str, target: str, *, staff: bool = True) -> None:
    """Raise Conflict (HTTP 409) naming the allowed targets when current -> target is refused."""
    if target not in Status.values:
        raise Conflict(f"Unknown status {target!r}.", code="invalid_status")
    allowed = allowed_targets(current, staff=staff)
    if target not in allowed:
        names = ", ".join(allowed) or "none (the ticket is final)"
        raise Conflict(
            f"A ticket cannot go from {current} to {target}. Allowed: {names}.",
            code="invalid_transition",
            extra={"status": current, "allowed": allowed},
        )
