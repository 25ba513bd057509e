import pytest

from .factories import make_ticket

pytestmark = pytest.mark.django_db


def test_a_customer_files_a_ticket_and_an_agent_answers(client, customer, agent):
    ticket = make_ticket(by=customer)
    assert ticket.number.startswith("TKT-")
    assert ticket.first_response_due_at is not None
    client.force_login(agent)
    assert client.get(f"/desk/tickets/{ticket.number}/").status_code == 200
    response = client.post(f"/desk/tickets/{ticket.number}/", {"body": "On it!"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None
    client.force_login(customer)
    page = client.get(f"/help/tickets/{ticket.number}/").content.decode()
    assert "On it!" in page
