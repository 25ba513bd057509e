from core.errors import NotAllowed
from core.roles import is_staff_member

from ..models import Ticket


def require_staff(user, what: str) -> None:
    if user is None or not is_staff_member(user):
        raise NotAllowed(f"Only support staff may {what}.")


def lock_ticket(ticket_id: int) -> Ticket:
    """Lock the ticket row for the rest of the transaction and read its current state."""
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("sla_policy", "organization")
        .get(pk=ticket_id)
    )
