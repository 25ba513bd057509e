import datetime as dt
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import OutboxMessage
from support import notifications
from support.models import (
    AgentProfile,
    EscalationLevel,
    EscalationPolicy,
    SLAPolicy,
    Ticket,
    TicketEscalation,
)
from support.models.choices import AgentStatus, Priority, Status
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


# --- Query counts of a batch: the same for 1 and 50 breaching tickets, whoever owns them and
# whatever their escalation level does. Each run finds the tickets at risk and breached at once
# (warning batch, breach batch), and the breach fires level 1 on the row it holds. Bulk INSERTs
# are chunked at 500 rows (parameter limits), so the fixtures keep a batch's outbox rows below
# that: at most 8 per breach here.

OWNERS = ["assigned", "team", "nobody"]
LEVELS = ["notify", "reassign", "raise_priority", "everything"]


@pytest.fixture
def escalating(agent):
    """Returns a function (level kind) -> the high-priority policy escalating at once to it."""

    def make(kind):
        watcher = UserFactory(roles=["support_lead"])
        night_shift = TeamFactory(members=[UserFactory(roles=["agent"])])
        policy = EscalationPolicy.objects.create(name=f"High escalation ({kind})")
        level = EscalationLevel.objects.create(
            policy=policy,
            level=1,
            delay_minutes=0,
            notify_team=night_shift if kind in ("notify", "everything") else None,
            reassign_team=night_shift if kind in ("reassign", "everything") else None,
            raise_priority=kind in ("raise_priority", "everything"),
        )
        if kind in ("notify", "everything"):
            level.notify_users.add(watcher)
        SLAPolicy.objects.filter(priority=Priority.HIGH).update(
            escalation_policy=policy, auto_escalate=True
        )
        return level

    return make


def breaching_tickets(customer, *, count, owner, agent, team, created):
    """`count` high-priority tickets (first response due 60 min after `created`)."""
    tickets = []
    for _ in range(count):
        with at(created):
            ticket = make_ticket(by=customer, priority=Priority.HIGH, created_at=created)
        if owner == "assigned":
            with at(created):
                assign_ticket(ticket=ticket, agent=agent, by=agent)
        elif owner == "team":
            Ticket.objects.filter(pk=ticket.pk).update(team=team)
        tickets.append(ticket)
    return tickets


def counted_run(now):
    with CaptureQueriesContext(connection) as queries:
        run = run_monitor(now=now)
    return len(queries), run


@pytest.mark.parametrize("owner", OWNERS)
@pytest.mark.parametrize("level_kind", LEVELS)
def test_batch_queries_do_not_grow_with_breaches(customer, agent, escalating, owner, level_kind):
    level = escalating(level_kind)
    UserFactory(roles=["support_lead"])  # on duty, for the tickets nobody owns
    team = TeamFactory(members=[UserFactory(roles=["agent"]) for _ in range(2)])
    later = T0 + dt.timedelta(hours=2)
    breaching_tickets(customer, count=1, owner=owner, agent=agent, team=team, created=T0)
    many = breaching_tickets(customer, count=50, owner=owner, agent=agent, team=team, created=later)

    one_queries, one = counted_run(T0 + dt.timedelta(minutes=61))
    fifty_queries, fifty = counted_run(later + dt.timedelta(minutes=61))

    assert (one.warned, one.breached, one.escalated) == (1, 1, 1)
    assert (fifty.warned, fifty.breached, fifty.escalated) == (50, 50, 50)
    assert one_queries == fifty_queries
    # The escalations did what the level says, for every ticket of the batch.
    for ticket in Ticket.objects.filter(pk__in=[t.pk for t in many]):
        assert ticket.escalation_level == 1
        if level.reassign_team_id:
            assert ticket.team_id == level.reassign_team_id
        if level.raise_priority:
            assert ticket.priority == Priority.URGENT
            assert ticket.sla_policy.priority == Priority.URGENT
            assert ticket.response_target_minutes == 15
    assert TicketEscalation.objects.filter(ticket__in=many).count() == 50


def test_a_ticket_nobody_owns_reaches_the_on_duty_leads(customer, escalating):
    level = escalating("notify")
    on_duty = UserFactory(roles=["support_lead"])
    away = UserFactory(roles=["support_lead"])
    for user in [away, *level.notify_users.all()]:
        AgentProfile.objects.create(user=user, status=AgentStatus.AWAY)
    AgentProfile.objects.create(user=on_duty, status=AgentStatus.AVAILABLE)
    [ticket] = breaching_tickets(
        customer, count=1, owner="nobody", agent=None, team=None, created=T0
    )
    run_monitor(now=T0 + dt.timedelta(minutes=61))
    breach = OutboxMessage.objects.filter(key__startswith=f"ticket:{ticket.pk}:sla:response-breach")
    told = set(breach.exclude(recipient_user=None).values_list("recipient_user", flat=True))
    assert told == {on_duty.pk}
    assert set(breach.values_list("channel", flat=True)) >= {"in_app", "email"}


def test_a_team_with_nobody_active_falls_back_to_the_leads(customer, lead, escalating):
    escalating("notify")
    empty = TeamFactory(members=[UserFactory(roles=["agent"], is_active=False)])
    [ticket] = breaching_tickets(
        customer, count=1, owner="team", agent=None, team=empty, created=T0
    )
    run_monitor(now=T0 + dt.timedelta(minutes=61))
    assert OutboxMessage.objects.filter(
        key__startswith=f"ticket:{ticket.pk}:sla:response-breach", recipient_user=lead
    ).exists()


def test_on_duty_leads_are_every_lead_when_none_is_available(db):
    first, second = UserFactory(roles=["support_lead"]), UserFactory(roles=["support_lead"])
    UserFactory(roles=["support_lead"], is_active=False)
    UserFactory(roles=["agent"])
    for user in (first, second):
        AgentProfile.objects.create(user=user, status=AgentStatus.OFFLINE)
    assert notifications.on_duty_leads() == [first, second]
    AgentProfile.objects.filter(user=second).update(status=AgentStatus.AVAILABLE)
    assert notifications.on_duty_leads() == [second]


def test_a_delayed_level_is_scheduled_in_the_batch(customer, agent, django_assert_num_queries):
    policy = EscalationPolicy.objects.create(name="Later")
    EscalationLevel.objects.create(policy=policy, level=1, delay_minutes=30)
    SLAPolicy.objects.filter(priority=Priority.URGENT).update(escalation_policy=policy)
    tickets = [urgent_ticket(customer, agent) for _ in range(3)]
    run = run_monitor(now=T0 + dt.timedelta(minutes=16))
    assert (run.breached, run.escalated) == (3, 0)
    assert set(
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values_list(
            "next_escalation_at", flat=True
        )
    ) == {T0 + dt.timedelta(minutes=45)}
