"""The agent dashboard: figures against hand-counted tickets, only what the agent may see, and
the same number of queries whatever the volume."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from support import dashboard
from support.models import Ticket
from support.models.choices import Status
from tests.factories import UserFactory

from .factories import TeamFactory, make_ticket

pytestmark = pytest.mark.django_db


def _mine(customer, agent, **fields):
    ticket = make_ticket(by=customer)
    Ticket.objects.filter(pk=ticket.pk).update(assigned_to=agent, **fields)
    return ticket


def test_the_figures_match_the_tickets(customer, agent):
    now = timezone.now()
    _mine(customer, agent, status=Status.IN_PROGRESS)
    _mine(customer, agent, status=Status.WAITING_ON_CUSTOMER)
    # Answered today: two in time (30 and 60 working minutes), one late (90).
    for minutes, late in ((30, False), (60, False), (90, True)):
        _mine(
            customer,
            agent,
            status=Status.RESOLVED,
            first_responded_at=now - dt.timedelta(minutes=5),
            first_response_working_minutes=minutes,
            response_breached=late,
            resolved_at=now - dt.timedelta(minutes=1),
            resolution_working_minutes=minutes * 2,
            satisfaction_rating=5 if not late else 2,
            rated_at=now,
        )
    figures = dashboard.dashboard(agent, now=now)
    assert figures["workload_total"] == 2
    assert dict(figures["workload"]) == {"In progress": 1, "Waiting on customer": 1}
    label, response, resolution = figures["periods"][0]
    assert label == "Today"
    assert (response.stopped, response.met, response.percent) == (3, 2, 67)
    assert response.mean_minutes == pytest.approx(60)
    assert (resolution.stopped, resolution.met, resolution.mean_minutes) == (3, 3, 120)
    assert (figures["csat"], figures["rated"]) == (67, 3)
    today = figures["chart"]["bars"][-1]
    assert (today["created"], today["solved"]) == (5, 3)


def test_another_agents_tickets_are_not_counted_as_mine(customer, agent):
    other = UserFactory(roles=["agent"])
    _mine(customer, other, status=Status.IN_PROGRESS)
    assert dashboard.dashboard(agent)["workload_total"] == 0


def test_the_page_costs_the_same_at_1_and_40_tickets(client, customer, agent):
    TeamFactory(members=[agent])
    _mine(customer, agent, status=Status.IN_PROGRESS)
    client.force_login(agent)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            page = client.get("/desk/dashboard/")
        assert page.status_code == 200
        return len(captured)

    few = queries()
    for _ in range(39):
        _mine(customer, agent, status=Status.IN_PROGRESS, response_breached=True)
    assert queries() == few
    assert "Breached" in client.get("/desk/dashboard/").content.decode()


def test_customers_have_no_dashboard(client, customer):
    client.force_login(customer)
    assert client.get("/desk/dashboard/").status_code == 403
