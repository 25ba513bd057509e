from ..models import Ticket


def lock_ticket(ticket_id: int) -> Ticket:
    """Lock the ticket row for the rest of the transaction and read its current state."""
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("sla_policy", "organization")
        .get(pk=ticket_id)
    )
