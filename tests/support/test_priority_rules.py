"""Customers cannot raise their own ticket to the top priority; staff set any, audited."""

import pytest

from core.models.users import CustomerTier
from core.roles import Role
from support.models import Ticket, TicketEvent
from support.models.choices import Priority
from support.services.tickets import default_priority
from tests.factories import OrganizationFactory, UserFactory

API = "/api/v1/support"


def _file(api_client, **body):
    return api_client.post(f"{API}/tickets/", {"subject": "It broke", **body}, format="json")


def test_a_customer_choosing_urgent_is_refused_and_nothing_is_created(api_client, customer):
    api_client.force_authenticate(customer)

    response = _file(api_client, priority="urgent")

    assert response.status_code == 400
    body = response.json()
    assert set(body) >= {"detail", "code", "errors"}
    assert body["code"] == "priority_not_allowed"
    assert list(body["errors"]) == ["priority"]
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("priority", ["high", "medium", "low"])
def test_a_customer_may_choose_up_to_high(api_client, customer, priority):
    api_client.force_authenticate(customer)

    response = _file(api_client, priority=priority)

    assert response.status_code == 201
    assert Ticket.objects.get().priority == priority


@pytest.mark.parametrize(
    ("tier", "expected"),
    [(CustomerTier.ENTERPRISE, Priority.HIGH), (CustomerTier.STANDARD, Priority.MEDIUM)],
)
def test_without_a_choice_the_tier_rule_decides(api_client, tier, expected):
    customer = UserFactory(roles=[Role.CUSTOMER], organization=OrganizationFactory(tier=tier))
    api_client.force_authenticate(customer)

    response = _file(api_client)

    assert response.status_code == 201
    assert Ticket.objects.get().priority == expected
    assert default_priority(None, customer.organization) == expected


def test_the_cap_is_a_setting(api_client, customer, settings):
    settings.CUSTOMER_MAX_PRIORITY = "medium"
    api_client.force_authenticate(customer)

    assert _file(api_client, priority="high").status_code == 400
    assert _file(api_client, priority="medium").status_code == 201


def test_the_help_form_refuses_urgent(client, customer):
    client.force_login(customer)

    response = client.post(
        "/help/tickets/new/",
        {"subject": "It broke", "description": "Badly", "priority": "urgent"},
    )

    assert response.status_code == 200
    assert "priority" in response.context["form"].errors
    assert not Ticket.objects.exists()
    assert b'value="urgent"' not in client.get("/help/tickets/new/").content


def test_the_help_form_lets_the_rule_decide(client):
    customer = UserFactory(
        roles=[Role.CUSTOMER], organization=OrganizationFactory(tier=CustomerTier.ENTERPRISE)
    )
    client.force_login(customer)

    response = client.post(
        "/help/tickets/new/", {"subject": "It broke", "description": "Badly", "priority": ""}
    )

    assert response.status_code == 302
    assert Ticket.objects.get().priority == Priority.HIGH


def test_staff_file_urgent_and_raise_to_urgent_audited(api_client, agent, customer):
    api_client.force_authenticate(agent)

    filed = _file(api_client, customer=customer.pk, priority="urgent")
    assert filed.status_code == 201
    assert Ticket.objects.get(pk=filed.json()["id"]).priority == Priority.URGENT

    api_client.force_authenticate(customer)
    mine = _file(api_client, priority="high").json()["id"]
    api_client.force_authenticate(agent)
    response = api_client.patch(f"{API}/tickets/{mine}/", {"priority": "urgent"}, format="json")

    assert response.status_code == 200
    assert Ticket.objects.get(pk=mine).priority == Priority.URGENT
    event = TicketEvent.objects.get(ticket_id=mine, kind=TicketEvent.Kind.PRIORITY_CHANGED)
    assert event.actor == agent
    assert event.before["priority"] == "high" and event.after["priority"] == "urgent"


def test_a_customer_cannot_change_the_priority_afterwards(api_client, customer):
    api_client.force_authenticate(customer)
    mine = _file(api_client).json()["id"]

    response = api_client.patch(f"{API}/tickets/{mine}/", {"priority": "urgent"}, format="json")

    assert response.status_code == 403
    assert Ticket.objects.get(pk=mine).priority == Priority.MEDIUM
