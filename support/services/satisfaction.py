from django.db import transaction
from django.utils import timezone

from core.errors import Conflict, DomainError
from core.models import User

from .. import events, permissions
from ..models import Ticket
from ..models.choices import Status
from .common import lock_ticket

Kind = events.Kind


@transaction.atomic
def rate_ticket(
    *, ticket: Ticket, by: User, rating: int, comment: str = "", nps_score: int | None = None
) -> Ticket:
    """The customer rates the answer 1-5 (and optionally NPS 0-10) once it is resolved.

    A rating can be changed until the ticket is closed; then it is final.
    """
    ticket = lock_ticket(ticket.pk)
    permissions.can_rate.require(by, ticket)
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise DomainError("Rate from 1 to 5.", errors={"rating": ["Must be 1 to 5."]})
    if nps_score is not None and not 0 <= nps_score <= 10:
        raise DomainError("NPS is from 0 to 10.", errors={"nps_score": ["Must be 0 to 10."]})
    if ticket.status != Status.RESOLVED:
        if ticket.status == Status.CLOSED and ticket.satisfaction_rating is not None:
            raise Conflict("The ticket is closed; its rating is final.", code="rating_final")
        if ticket.status != Status.CLOSED:
            raise Conflict("Tickets can be rated once they are resolved.", code="not_resolved")
    before = {"rating": ticket.satisfaction_rating, "nps_score": ticket.nps_score}
    ticket.satisfaction_rating = rating
    ticket.satisfaction_comment = comment.strip()[:5000]
    ticket.nps_score = nps_score
    ticket.rated_at = timezone.now()
    ticket.save(
        update_fields=[
            "satisfaction_rating",
            "satisfaction_comment",
            "nps_score",
            "rated_at",
            "updated_at",
        ]
    )
    events.record(
        ticket=ticket,
        kind=Kind.RATED,
        actor=by,
        before=before,
        after={"rating": rating, "nps_score": nps_score},
    )
    return ticket
