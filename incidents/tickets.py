"""Tickets an incident caused: linking them, and answering them all when it is resolved.

Each link remembers when its ticket was answered (`answered_at`), set under the incident's row
lock in the resolving transaction: however often a resolution is retried, or an incident is
reopened and resolved again, a ticket gets the resolution reply once.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import audit
from core.errors import Conflict, DomainError
from core.inputs import parse_id
from core.sanitize import text_to_html
from core.workflow import SYSTEM
from support import services as support_services
from support import templating
from support.models import Ticket
from support.models.choices import ACTIVE_STATUSES as TICKET_ACTIVE
from support.models.choices import SenderType
from support.permissions import can_reply
from support.workflow import TICKET

from .models import Incident, IncidentEvent, IncidentTicket, Status
from .permissions import can_run

MAX_LINKS_PER_REQUEST = 500
INCIDENT_PLACEHOLDERS = ("incident.number", "incident.title")


def open_linked_tickets(incident: Incident):
    return Ticket.objects.filter(incident_links__incident=incident, status__in=TICKET_ACTIVE)


def _tickets_in_reach(by, refs) -> list[Ticket]:
    """The tickets named by id or number, all within the caller's reach (or a 400)."""
    refs = list(dict.fromkeys(str(ref).strip().upper() for ref in refs))
    if len(refs) > MAX_LINKS_PER_REQUEST:
        raise DomainError(
            f"At most {MAX_LINKS_PER_REQUEST} tickets at a time.",
            errors={"tickets": ["Too many."]},
        )
    ids = {parse_id(ref) for ref in refs} - {None}
    numbers = {ref for ref in refs if parse_id(ref) is None}
    found = list(
        Ticket.objects.visible_to(by).filter(Q(pk__in=ids) | Q(number__in=numbers)).order_by("pk")
    )
    known = {str(t.pk) for t in found} | {t.number for t in found}
    missing = [ref for ref in refs if ref not in known]
    if missing:
        # Not found and not visible read the same, so tickets cannot be probed.
        raise DomainError(
            "Some tickets do not exist or are not yours to link.",
            errors={"tickets": [f"Unknown: {', '.join(missing[:20])}."]},
        )
    return found


@transaction.atomic
def link_tickets(*, incident: Incident, by, tickets) -> int:
    """Link tickets (one or many) to the incident; returns how many were new links."""
    can_run.require(by, incident)
    tickets = _tickets_in_reach(by, tickets)
    incident = Incident.objects.select_for_update(of=("self",)).get(pk=incident.pk)
    if incident.status == Status.CLOSED:
        raise Conflict("A closed incident cannot take tickets.", code="incident_closed")
    linked = set(
        IncidentTicket.objects.filter(incident=incident, ticket__in=tickets).values_list(
            "ticket_id", flat=True
        )
    )
    new = [t.pk for t in tickets if t.pk not in linked]
    IncidentTicket.objects.bulk_create(
        [IncidentTicket(incident=incident, ticket_id=pk, linked_by=by) for pk in new]
    )
    if new:
        audit.record(IncidentEvent, incident=incident, kind=IncidentEvent.Kind.TICKETS_LINKED,
                     actor=by, after={"tickets": sorted(new)})  # fmt: skip
    return len(new)


@transaction.atomic
def unlink_tickets(*, incident: Incident, by, tickets) -> int:
    can_run.require(by, incident)
    tickets = _tickets_in_reach(by, tickets)
    incident = Incident.objects.select_for_update(of=("self",)).get(pk=incident.pk)
    links = IncidentTicket.objects.filter(incident=incident, ticket__in=tickets)
    gone = sorted(links.values_list("ticket_id", flat=True))
    links.delete()
    if gone:
        audit.record(IncidentEvent, incident=incident, kind=IncidentEvent.Kind.TICKETS_UNLINKED,
                     actor=by, before={"tickets": gone})  # fmt: skip
    return len(gone)


def resolution_reply(incident: Incident, ticket: Ticket, *, agent) -> str:
    text = settings.INCIDENTS_RESOLUTION_REPLY
    for name in INCIDENT_PLACEHOLDERS:
        value = getattr(incident, name.split(".")[1])
        text = text.replace("{{ " + name + " }}", value)
    return templating.render(text, templating.context_for(ticket=ticket, agent=agent))


def answer_linked_tickets(incident: Incident, *, by) -> int:
    """Give every open linked ticket not yet answered one public reply and move it to
    `INCIDENTS_RESOLVED_TICKET_STATUS` (where its state machine allows). Runs inside the
    resolving transaction, under the incident's lock."""
    target = settings.INCIDENTS_RESOLVED_TICKET_STATUS
    links = list(
        IncidentTicket.objects.filter(
            incident=incident, answered_at__isnull=True, ticket__status__in=TICKET_ACTIVE
        )
        .select_related("ticket", "ticket__organization")
        .order_by("ticket_id")
    )
    now = timezone.now()
    # The resolver answers, in their name, the tickets they may write to; a ticket out of their
    # reach (linked by someone on another team) is answered by the system, never in the name
    # of someone who cannot see it.
    reachable = set(
        Ticket.objects.visible_to(by)
        .filter(pk__in=[link.ticket_id for link in links])
        .values_list("pk", flat=True)
    )
    for link in links:
        ticket = link.ticket
        writer = by if ticket.pk in reachable and can_reply(by, ticket) else None
        body = resolution_reply(incident, ticket, agent=writer)
        support_services.add_message(
            ticket=ticket,
            by=writer,
            body=_as_html(body),
            sender_type=None if writer else SenderType.SYSTEM,
        )
        ticket.refresh_from_db(fields=["status"])
        if ticket.status != target and target in TICKET.allowed(ticket.status, party=SYSTEM):
            support_services.change_status(
                ticket=ticket,
                to=target,
                by=writer,
                note=f"Incident {incident.number}",
                system=True,
            )
        link.answered_at = now
        link.save(update_fields=["answered_at"])
    if links:
        audit.record(IncidentEvent, incident=incident, kind=IncidentEvent.Kind.TICKETS_NOTIFIED,
                     actor=by, after={"tickets": [link.ticket_id for link in links],
                                      "status": target})  # fmt: skip
    return len(links)


def _as_html(text: str) -> str:
    return text_to_html(text)
