"""The desk's incident pages: staff only, active first, and every button a service call."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import Incident, IncidentTicket, IncidentUpdate, Status
from tests.support.factories import make_ticket

from .factories import make_component, make_incident

pytestmark = pytest.mark.django_db


def test_customers_are_refused(client, customer, agent):
    incident = make_incident(by=agent)
    client.force_login(customer)
    assert client.get("/desk/incidents/").status_code == 403
    assert client.get(f"/desk/incidents/{incident.number}/").status_code == 403
    response = client.post(f"/desk/incidents/{incident.number}/acknowledge/")
    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.acknowledged_at is None


def test_the_list_shows_active_incidents_first(client, agent):
    old = make_incident(by=agent, title="Old outage")
    Incident.objects.filter(pk=old.pk).update(status=Status.RESOLVED)
    make_incident(by=agent, title="Current outage")
    Incident.objects.filter(pk=old.pk).update(detected_at=old.detected_at.replace(year=2030))
    client.force_login(agent)
    html = client.get("/desk/incidents/").content.decode()
    assert html.index("Current outage") < html.index("Old outage")


def test_the_list_costs_the_same_for_more_incidents(client, agent):
    api = make_component()
    client.force_login(agent)
    make_incident(by=agent, components={api: "major_outage"})

    def queries():
        with CaptureQueriesContext(connection) as captured:
            client.get("/desk/incidents/")
        return len(captured)

    one = queries()
    for _ in range(5):
        make_incident(by=agent, components={api: "partial_outage"}, commander=agent)
    assert queries() == one


def test_acknowledge_move_post_and_link_from_the_page(client, agent, customer):
    incident = make_incident(by=agent, title="Exports fail")
    ticket = make_ticket(by=customer)
    client.force_login(agent)
    page = f"/desk/incidents/{incident.number}/"
    html = client.get(page).content.decode()
    assert "Acknowledge and command" in html and 'value="investigating"' in html
    client.post(f"{page}acknowledge/")
    client.post(f"{page}transition/", {"to": "investigating", "message": "Looking",
                                       "public": "on"})  # fmt: skip
    client.post(f"{page}updates/", {"body": "Internal note"})
    client.post(f"{page}tickets/", {"tickets": ticket.number})
    incident.refresh_from_db()
    assert (incident.commander, incident.status) == (agent, Status.INVESTIGATING)
    entries = IncidentUpdate.objects.filter(incident=incident).order_by("pk")
    assert list(entries.values_list("body", "is_public")) == [
        ("Looking", True),
        ("Internal note", False),
    ]
    assert IncidentTicket.objects.filter(incident=incident, ticket=ticket).exists()
    refused = client.post(f"{page}transition/", {"to": "closed"}, follow=True)
    assert "cannot go from investigating to closed" in refused.content.decode()
    html = client.get(page).content.decode()
    assert "Internal note" in html and "Open linked tickets" in html
