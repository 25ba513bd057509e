"""Tickets an incident caused: answered once when it is resolved, whatever is retried."""

import pytest
from django.test import override_settings

from core.models import OutboxMessage
from incidents import services, statuspage
from incidents.models import IncidentEvent, Status
from incidents.tickets import link_tickets
from support.models import TicketMessage
from support.models.choices import SenderType
from support.models.choices import Status as TicketStatus
from tests.support.factories import make_ticket

from .factories import make_incident

pytestmark = pytest.mark.django_db
INCIDENTS = "/api/v1/incidents/"


@pytest.fixture
def caused(agent, lead, customer):
    incident = make_incident(by=agent, title="Exports fail")
    tickets = [make_ticket(by=customer, subject=f"Export broken {n}") for n in range(2)]
    done = make_ticket(by=customer, subject="Already answered")
    type(done).objects.filter(pk=done.pk).update(status=TicketStatus.RESOLVED)
    link_tickets(incident=incident, by=lead, tickets=[str(t.pk) for t in [*tickets, done]])
    return incident, tickets, done


def replies(ticket):
    return TicketMessage.objects.filter(
        ticket=ticket, sender_type=SenderType.AGENT, is_internal=False
    )


def test_resolving_answers_each_open_linked_ticket_once(agent, caused):
    incident, tickets, done = caused
    services.change_status(incident=incident, by=agent, to=Status.RESOLVED)
    for ticket in tickets:
        [reply] = replies(ticket)
        assert incident.number in reply.body_text and "Exports fail" in reply.body_text
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.RESOLVED
    assert not replies(done).exists()
    event = incident.events.get(kind=IncidentEvent.Kind.TICKETS_NOTIFIED)
    assert event.after["tickets"] == sorted(t.pk for t in tickets)


def test_a_retried_resolve_request_answers_nobody_twice(api_client, agent, caused):
    incident, tickets, _ = caused
    api_client.force_authenticate(agent)
    url = f"{INCIDENTS}{incident.pk}/transition/"
    for _ in range(3):
        response = api_client.post(url, {"status": "resolved"}, format="json")
        assert response.status_code == 200
        assert response.json()["open_ticket_count"] == 0
    outbox = OutboxMessage.objects.filter(recipient=tickets[0].customer_email).count()
    api_client.post(url, {"status": "resolved"}, format="json")
    assert OutboxMessage.objects.filter(recipient=tickets[0].customer_email).count() == outbox
    for ticket in tickets:
        assert replies(ticket).count() == 1


def test_reopened_and_resolved_again_still_answers_once(agent, customer, caused):
    incident, tickets, _ = caused
    services.change_status(incident=incident, by=agent, to=Status.RESOLVED)
    services.change_status(incident=incident, by=agent, to=Status.INVESTIGATING)
    # The customer answers: the ticket opens again, still linked.
    from support.services import add_message

    add_message(ticket=tickets[0], by=customer, body="<p>Still broken.</p>")
    services.change_status(incident=incident, by=agent, to=Status.RESOLVED)
    assert replies(tickets[0]).count() == 1


@override_settings(INCIDENTS_RESOLVED_TICKET_STATUS="waiting_on_customer")
def test_the_setting_can_leave_tickets_waiting_on_the_customer(agent, caused):
    incident, tickets, _ = caused
    services.change_status(incident=incident, by=agent, to=Status.RESOLVED)
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.WAITING_ON_CUSTOMER
        assert replies(ticket).count() == 1


def test_an_unlinked_ticket_hears_nothing(agent, lead, caused):
    from incidents.tickets import unlink_tickets

    incident, tickets, _ = caused
    unlink_tickets(incident=incident, by=lead, tickets=[tickets[1].number])
    services.change_status(incident=incident, by=agent, to=Status.RESOLVED)
    assert replies(tickets[0]).count() == 1
    assert not replies(tickets[1]).exists()


# --- the help center's banner -------------------------------------------------------------------


def test_the_help_center_names_an_active_public_incident(client, agent):
    assert "Known incident" not in client.get("/help/").content.decode()
    incident = make_incident(by=agent, title="Logins fail")
    statuspage.invalidate()
    html = client.get("/help/").content.decode()
    assert "Known incident: Logins fail" in html
    assert f"/status/incidents/{incident.number}/" in html
    services.change_status(incident=incident, by=agent, to=Status.RESOLVED)
    statuspage.invalidate()
    assert "Known incident" not in client.get("/help/").content.decode()


def test_an_internal_incident_has_no_banner(client, agent):
    make_incident(by=agent, title="Vault rotation", is_public=False)
    statuspage.invalidate()
    assert "Vault rotation" not in client.get("/help/").content.decode()


def test_a_ticket_out_of_the_resolvers_reach_is_answered_by_the_system(
    agent, lead, customer, caused
):
    from tests.support.factories import TeamFactory

    incident, tickets, _ = caused
    elsewhere = make_ticket(by=customer, subject="Export broken on the other team")
    type(elsewhere).objects.filter(pk=elsewhere.pk).update(team=TeamFactory(name="Hardware"))
    link_tickets(incident=incident, by=lead, tickets=[str(elsewhere.pk)])
    services.change_status(incident=incident, by=agent, to=Status.RESOLVED)

    [answer] = TicketMessage.objects.filter(ticket=elsewhere, is_internal=False).exclude(
        sender_type=SenderType.CUSTOMER
    )
    assert (answer.sender_type, answer.author) == (SenderType.SYSTEM, None)
    assert incident.number in answer.body_text
    assert OutboxMessage.objects.filter(
        recipient=elsewhere.customer_email, key__contains=f"message:{answer.pk}:"
    ).exists()  # the customer is told, as for a person's reply
    elsewhere.refresh_from_db()
    assert elsewhere.status == TicketStatus.RESOLVED
    assert not elsewhere.events.filter(actor=agent).exists()  # nothing in the agent's name
    for ticket in tickets:  # the tickets the agent may answer carry their name
        assert replies(ticket).get().author == agent
