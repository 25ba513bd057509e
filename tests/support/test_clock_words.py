"""SLA clocks in words: one state per clock, never "met" beside "overdue", nothing running on a
finished ticket."""

from datetime import timedelta

import pytest
from django.utils import timezone

from support import services
from support.clock_words import duration_words, next_due, ticket_clocks
from support.models import Ticket
from support.models.choices import Status

from .factories import make_ticket

pytestmark = pytest.mark.django_db


def _states(ticket, now):
    return [(c.state, c.words) for c in ticket_clocks(ticket, now=now)]


@pytest.mark.parametrize(
    ("minutes", "words"),
    [(0, "0 min"), (45, "45 min"), (60, "1 h"), (130, "2 h 10 min"), (-5, "0 min")],
)
def test_durations_read_as_people_say_them(minutes, words):
    assert duration_words(minutes) == words


def test_a_new_ticket_shows_both_clocks_running_with_the_time_left(customer):
    ticket = make_ticket(by=customer, priority="high")  # 60 min / 8 h, 24/7
    now = ticket.created_at + timedelta(minutes=20)
    assert _states(ticket, now) == [("running", "in 40 min"), ("running", "in 7 h 40 min")]
    assert next_due(ticket_clocks(ticket, now=now)).label == "First response"


def test_a_late_clock_is_overdue_in_working_time_then_in_days(customer):
    ticket = make_ticket(by=customer, priority="high")
    soon = ticket.created_at + timedelta(minutes=95)
    response, _ = ticket_clocks(ticket, now=soon)
    assert (response.state, response.words) == ("breached", "35 min overdue")
    later = ticket.created_at + timedelta(days=3, minutes=60)
    response, resolution = ticket_clocks(ticket, now=later)
    assert response.words == "3 d overdue" and resolution.state == "breached"
    assert next_due([response, resolution]).state == "breached"


def test_an_answered_ticket_says_met_once_and_never_overdue(customer, agent):
    ticket = make_ticket(by=customer, priority="high")
    services.add_message(ticket=ticket, by=agent, body="On it")
    ticket.refresh_from_db()
    now = timezone.now() + timedelta(days=2)
    response, resolution = ticket_clocks(ticket, now=now)
    assert (response.state, response.words) == ("met", "met")
    assert resolution.state == "breached"  # the resolution clock still ran out


def test_waiting_on_the_customer_pauses_the_resolution_clock(customer, agent):
    ticket = make_ticket(by=customer, priority="high")
    services.add_message(ticket=ticket, by=agent, body="Which browser?")
    services.wait_on_customer(ticket=ticket, by=agent)
    ticket.refresh_from_db()
    _, resolution = ticket_clocks(ticket, now=timezone.now() + timedelta(days=5))
    assert (resolution.state, resolution.words) == ("paused", "paused: waiting on the customer")


def test_no_clock_runs_on_a_cancelled_ticket(customer, agent):
    ticket = make_ticket(by=customer, priority="high")
    services.cancel_ticket(ticket=ticket, by=agent)
    ticket = Ticket.objects.get(pk=ticket.pk)
    clocks = ticket_clocks(ticket, now=timezone.now() + timedelta(days=10))
    assert {c.state for c in clocks} == {"stopped"}
    assert all("cancelled" in c.words for c in clocks)
    assert next_due(clocks) is None


def test_a_clock_stopped_late_says_by_how_much(customer, agent):
    ticket = make_ticket(by=customer, priority="high")
    Ticket.objects.filter(pk=ticket.pk).update(
        created_at=ticket.created_at - timedelta(minutes=90),
        first_response_due_at=ticket.first_response_due_at - timedelta(minutes=90),
        resolution_due_at=ticket.resolution_due_at - timedelta(minutes=90),
    )
    ticket.refresh_from_db()
    services.add_message(ticket=ticket, by=agent, body="Sorry for the wait")
    ticket.refresh_from_db()
    response, _ = ticket_clocks(ticket, now=timezone.now())
    assert response.state == "breached" and response.words.startswith("breached (late by 30")
    assert ticket.status != Status.CLOSED
