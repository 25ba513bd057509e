"""Support's follow-up: its ticket is routed and assigned by the booking team's strategy, and
its task (a `FollowUpCheck`, scheduled work of the kernel) reminds the owner while nobody
tries to reach the customer, until the booking is settled."""

import datetime as dt

import pytest

from bookings import services
from bookings.models import EventKind, FollowUpCheck
from core import scheduling
from core.models import OutboxMessage
from core.roles import Role
from support.models.choices import AssignmentStrategy
from support.tasks import auto_assign_ticket
from tests.factories import UserFactory
from tests.support.factories import AgentProfileFactory, TeamFactory

from .factories import pending

pytestmark = pytest.mark.django_db


@pytest.fixture
def registration():
    return next(r for r in scheduling.registrations() if r.model is FollowUpCheck)


def sweep(registration, clock):
    return scheduling.sweep_model(registration, now=clock.at)


def make_agent():
    user = UserFactory(roles=[Role.AGENT])
    AgentProfileFactory(user=user, capacity=10)
    return user


def booking_team(strategy, members):
    team = TeamFactory(strategy=strategy, members=members)
    team.categories.add(services.ticket_category())
    return team


def test_the_escalation_ticket_is_assigned_by_the_booking_teams_strategy(
    customer, technician, clock
):
    first, second = sorted([make_agent(), make_agent()], key=lambda u: u.pk)
    team = booking_team(AssignmentStrategy.ROUND_ROBIN, [first, second])
    bookings = [pending(customer, technician) for _ in range(2)]
    clock.move(days=2, minutes=1)
    assert services.escalate_overdue() == 2
    assignees = []
    for booking in bookings:
        booking.refresh_from_db()
        ticket = booking.support_ticket
        assert ticket.team == team
        auto_assign_ticket(ticket.pk)  # what the worker runs after the commit
        ticket.refresh_from_db()
        assignees.append(ticket.assigned_to)
    assert sorted(assignees, key=lambda u: u.pk) == [first, second]


def test_who_starts_the_follow_up_owns_it(customer, technician, clock):
    agent = make_agent()
    booking_team(AssignmentStrategy.ROUND_ROBIN, [make_agent()])
    booking = services.initiate_follow_up(booking=pending(customer, technician), by=agent)
    assert booking.follow_up_agent == agent
    assert booking.support_ticket.assigned_to == agent


def test_the_follow_up_task_reminds_the_owner_while_nobody_calls(
    customer, technician, agent, clock, registration
):
    booking = services.initiate_follow_up(booking=pending(customer, technician), by=agent)
    check = FollowUpCheck.objects.get()
    assert check.due_at == clock.at + dt.timedelta(hours=24)
    clock.move(hours=23)
    assert sweep(registration, clock).done == 0
    clock.move(hours=1)
    assert sweep(registration, clock).done == 1
    nudges = OutboxMessage.objects.filter(key__contains=":check:", recipient_user=agent)
    assert set(nudges.values_list("channel", flat=True)) == {"email", "in_app"}
    assert booking.events.filter(kind=EventKind.FOLLOW_UP_DUE).count() == 1
    # Someone calls before the next check: no reminder then, but the task goes on.
    clock.move(hours=5)
    services.log_contact_attempt(booking=booking, by=agent, method="call", reached=False)
    clock.move(hours=19)
    assert sweep(registration, clock).done == 1
    assert booking.events.filter(kind=EventKind.FOLLOW_UP_DUE).count() == 1
    assert FollowUpCheck.objects.filter(state="pending").count() == 1
    assert sweep(registration, clock).done == 0  # a second sweep finds nothing


def test_without_an_owner_the_leads_on_duty_are_reminded(
    customer, technician, lead, clock, registration
):
    booking = pending(customer, technician)
    clock.move(days=2, minutes=1)
    services.escalate_overdue()  # no team takes booking tickets here: nobody owns it
    clock.move(hours=24)
    sweep(registration, clock)
    assert OutboxMessage.objects.filter(key__contains=":check:1:", recipient_user=lead).exists()
    booking.refresh_from_db()
    assert booking.follow_up_agent is None


def test_settling_the_booking_ends_the_task(customer, technician, agent, clock, registration):
    booking = services.initiate_follow_up(booking=pending(customer, technician), by=agent)
    services.complete(booking=booking, by=agent, outcome="disputed")
    assert set(FollowUpCheck.objects.values_list("state", flat=True)) == {"cancelled"}
    booking.refresh_from_db()
    assert booking.support_ticket.status != "resolved"  # a dispute is worked in the ticket
    clock.move(days=2)
    assert sweep(registration, clock).done == 0
    assert not booking.events.filter(kind=EventKind.FOLLOW_UP_DUE).exists()


def test_a_check_of_an_earlier_round_is_moot(customer, technician, agent, clock, registration):
    booking = services.initiate_follow_up(booking=pending(customer, technician), by=agent)
    # The customer rejects, the technician asks again: a new round without a follow-up.
    booking = services.reject(booking=booking, by=customer, reason="Leaks")
    FollowUpCheck.objects.filter(booking=booking).update(state="pending")  # as if never cancelled
    services.request_completion(booking=booking, by=technician)
    clock.move(hours=24)
    assert sweep(registration, clock).done == 1
    assert not booking.events.filter(kind=EventKind.FOLLOW_UP_DUE).exists()
    assert FollowUpCheck.objects.count() == 1  # nothing scheduled after a moot check
