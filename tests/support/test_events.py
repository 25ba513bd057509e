import pytest

from support.models import ResponseTemplate
from support.services import change_status

from .factories import make_ticket

pytestmark = pytest.mark.django_db


def test_customers_see_public_events_without_staff_notes(api_client, customer, agent):
    ticket = make_ticket(by=customer)
    change_status(ticket=ticket, to="in_progress", by=agent, note="Customer is a pain, go slow")
    api_client.force_authenticate(customer)
    events = api_client.get(f"/api/v1/support/tickets/{ticket.pk}/events/").json()["results"]
    assert [e["kind"] for e in events] == ["created", "status_changed"]
    assert "go slow" not in str(events)
    assert events[1]["after"] == {"status": "in_progress"}
    api_client.force_authenticate(agent)
    staff_view = api_client.get(f"/api/v1/support/tickets/{ticket.pk}/events/").json()["results"]
    assert staff_view[1]["note"] == "Customer is a pain, go slow"


def test_admin_refuses_templates_with_unknown_placeholders(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/admin/support/responsetemplate/add/",
        {
            "name": "Bad",
            "channel": "email",
            "subject": "",
            "is_active": "on",
            "body": "Hi {{ ticket.__class__ }}",
        },
    )
    assert response.status_code == 200  # the form is shown again with the error
    assert not ResponseTemplate.objects.filter(name="Bad").exists()
