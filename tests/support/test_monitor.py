import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone

from core.models import OutboxMessage
from support.models import EscalationLevel, EscalationPolicy, SLAPolicy, Ticket, TicketEscalation
from support.models.choices import Priority, Status
from support.monitor import run_monitor
from support.services import add_message, assign_ticket, wait_on_customer
from support.tasks import check_sla_breaches

from ..factories import UserFactory
from .factories import TeamFactory, make_ticket

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday


def at(moment):
    return mock.patch("django.utils.timezone.now", return_value=moment)


def urgent_ticket(customer, agent=None, created=T0):
    """Urgent: first response 15 min, resolution 240 min, warning at 80% (24/7 defaults)."""
    with at(created):
        ticket = make_ticket(by=customer, priority=Priority.URGENT, created_at=created)
        if agent:
            assign_ticket(ticket=ticket, agent=agent, by=agent)
    return Ticket.objects.get(pk=ticket.pk)


def events_of(ticket, kind):
    return list(ticket.events.filter(kind=kind))


# One indexed SELECT per check and one for escalations, each in its own (save)point.
QUERIES_WHEN_NOTHING_IS_DUE = 15


def test_nothing_due_changes_nothing(customer, agent, django_assert_num_queries):
    urgent_ticket(customer, agent)
    with django_assert_num_queries(QUERIES_WHEN_NOTHING_IS_DUE):
        run = run_monitor(now=T0 + dt.timedelta(minutes=5))
    assert (run.warned, run.breached, run.escalated) == (0, 0, 0)


def test_warning_then_breach_each_recorded_and_notified_once(customer, agent):
    ticket = urgent_ticket(customer, agent)
    assert ticket.response_warn_at == T0 + dt.timedelta(minutes=12)
    run = run_monitor(now=T0 + dt.timedelta(minutes=13))
    assert (run.warned, run.breached) == (1, 0)
    ticket.refresh_from_db()
    assert ticket.response_warned and not ticket.response_breached
    run = run_monitor(now=T0 + dt.timedelta(minutes=16))
    assert run.breached == 1
    ticket.refresh_from_db()
    assert ticket.response_breached
    assert ticket.response_breached_at == T0 + dt.timedelta(minutes=15)
    assert len(events_of(ticket, "sla_warning")) == 1
    assert len(events_of(ticket, "sla_breached")) == 1
    keys = set(OutboxMessage.objects.filter(key__contains=":sla:").values_list("key", flat=True))
    assert any("response-warning" in key for key in keys)
    assert any("response-breach" in key for key in keys)
    # Running again (or twice at once) changes and sends nothing more.
    outbox = OutboxMessage.objects.count()
    for _ in range(2):
        run = run_monitor(now=T0 + dt.timedelta(minutes=17))
        assert (run.warned, run.breached) == (0, 0)
    assert OutboxMessage.objects.count() == outbox
    assert len(events_of(ticket, "sla_breached")) == 1


def test_answered_ticket_does_not_breach_its_response_clock(customer, agent):
    ticket = urgent_ticket(customer, agent)
    with at(T0 + dt.timedelta(minutes=10)):
        add_message(ticket=ticket, by=agent, body="Looking now")
    run = run_monitor(now=T0 + dt.timedelta(minutes=30))
    assert run.breached == 0
    ticket.refresh_from_db()
    assert not ticket.response_breached


def test_late_answer_counts_as_breach_even_before_the_monitor_saw_it(customer, agent):
    ticket = urgent_ticket(customer, agent)
    with at(T0 + dt.timedelta(minutes=20)):
        add_message(ticket=ticket, by=agent, body="Sorry for the wait")
    ticket.refresh_from_db()
    assert ticket.response_breached
    assert ticket.first_response_working_minutes == 20


def test_paused_ticket_does_not_breach_resolution(customer, agent):
    ticket = urgent_ticket(customer, agent)
    with at(T0 + dt.timedelta(minutes=5)):
        add_message(ticket=ticket, by=agent, body="Need your logs")
        wait_on_customer(ticket=Ticket.objects.get(pk=ticket.pk), by=agent)
    run = run_monitor(now=T0 + dt.timedelta(hours=10))
    assert run.breached == 0


def test_resolution_breach_only_for_running_clocks(customer, agent):
    ticket = urgent_ticket(customer, agent)
    with at(T0 + dt.timedelta(minutes=5)):
        add_message(ticket=ticket, by=agent, body="On it")
    run = run_monitor(now=T0 + dt.timedelta(minutes=241))
    assert run.breached == 1
    ticket.refresh_from_db()
    assert ticket.resolution_breached and not ticket.response_breached


def test_breach_escalates_by_policy_levels(customer, agent):
    lead = UserFactory(roles=["support_lead"])
    night_shift = TeamFactory(members=[UserFactory(roles=["agent"])])
    policy = EscalationPolicy.objects.create(name="Urgent escalation")
    first = EscalationLevel.objects.create(
        policy=policy, level=1, delay_minutes=0, notify_slack=False
    )
    first.notify_users.add(lead)
    EscalationLevel.objects.create(
        policy=policy, level=2, delay_minutes=30, reassign_team=night_shift
    )
    SLAPolicy.objects.filter(priority=Priority.URGENT).update(escalation_policy=policy)
    ticket = urgent_ticket(customer, agent)

    run = run_monitor(now=T0 + dt.timedelta(minutes=16))  # breach; level 1 fires at once
    assert (run.breached, run.escalated) == (1, 1)
    assert run_monitor(now=T0 + dt.timedelta(minutes=16)).escalated == 0
    ticket.refresh_from_db()
    assert ticket.escalation_level == 1
    assert ticket.next_escalation_at == T0 + dt.timedelta(minutes=45)
    assert OutboxMessage.objects.filter(
        key__startswith=f"ticket:{ticket.pk}:escalation:1", recipient_user=lead
    ).exists()

    assert run_monitor(now=T0 + dt.timedelta(minutes=40)).escalated == 0
    assert run_monitor(now=T0 + dt.timedelta(minutes=46)).escalated == 1
    ticket.refresh_from_db()
    assert ticket.escalation_level == 2
    assert ticket.team_id == night_shift.pk
    assert ticket.next_escalation_at is None
    assert list(TicketEscalation.objects.filter(ticket=ticket).values_list("level", flat=True)) == [
        1,
        2,
    ]
    assert run_monitor(now=T0 + dt.timedelta(hours=5)).escalated == 0


def test_cost_follows_the_tickets_that_change(customer, django_assert_num_queries):
    for minutes in range(0, 60, 2):
        urgent_ticket(customer, created=T0 + dt.timedelta(minutes=minutes))
    with django_assert_num_queries(QUERIES_WHEN_NOTHING_IS_DUE):
        run_monitor(now=T0 - dt.timedelta(minutes=1))
    run = run_monitor(now=T0 + dt.timedelta(hours=1))
    assert run.breached > 0


def test_closed_and_cancelled_tickets_never_breach(customer, agent):
    ticket = urgent_ticket(customer, agent)
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.CANCELLED)
    assert run_monitor(now=T0 + dt.timedelta(days=2)).breached == 0


def test_monitor_default_now_is_the_present(customer, agent):
    ticket = urgent_ticket(customer, agent, created=timezone.now() - dt.timedelta(hours=1))
    check_sla_breaches.apply()
    ticket.refresh_from_db()
    assert ticket.response_breached
