"""Auto-close (DESIGN §4): resolved tickets close after TICKET_AUTO_CLOSE_DAYS, set-based."""

import datetime as dt
import threading
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.models import OutboxMessage
from support import services
from support.models import Ticket, TicketEvent
from support.models.choices import Status

from .factories import make_ticket

pytestmark = pytest.mark.django_db
Kind = TicketEvent.Kind
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(days=8)
# The fields a close changes (status, closed_at and what the SLA clocks make of it).
CLOSE_FIELDS = [
    "status",
    "closed_at",
    "resolved_at",
    "sla_paused_at",
    "sla_paused_minutes",
    "sla_due_at",
    "resolution_working_minutes",
    "resolution_breached",
]


def at(moment):
    return mock.patch("django.utils.timezone.now", return_value=moment)


def resolved_tickets(customer, count, *, resolved=T0):
    """`count` tickets resolved through the service at `resolved` (clocks stopped as they are)."""
    tickets = []
    for _ in range(count):
        with at(resolved - dt.timedelta(hours=1)):
            ticket = make_ticket(by=customer)
        with at(resolved):
            services.change_status(ticket=ticket, to=Status.RESOLVED, by=None, system=True)
        tickets.append(ticket)
    return tickets


def status_events(ticket):
    return list(TicketEvent.objects.filter(ticket=ticket, kind=Kind.STATUS_CHANGED).order_by("pk"))


def test_closes_old_resolved_tickets_like_a_manual_close(customer, settings):
    settings.TICKET_AUTO_CLOSE_DAYS = 7
    manual, auto = resolved_tickets(customer, 2)
    [fresh] = resolved_tickets(customer, 1, resolved=NOW - dt.timedelta(days=6))
    with at(NOW):
        services.close_ticket(ticket=manual, by=None, note="Closed automatically.", system=True)
    outbox = OutboxMessage.objects.count()

    assert services.auto_close_resolved(now=NOW) == 1

    manual, auto, fresh = (Ticket.objects.get(pk=t.pk) for t in (manual, auto, fresh))
    assert auto.status == Status.CLOSED and auto.closed_at == NOW
    assert fresh.status == Status.RESOLVED
    for name in CLOSE_FIELDS:
        assert getattr(auto, name) == getattr(manual, name), name
    assert auto.updated_at > T0
    [*_, event] = status_events(auto)
    assert event.actor is None and event.note == "Closed automatically."
    assert event.before == {"status": "resolved"} and event.after == {"status": "closed"}
    assert not event.is_internal
    assert OutboxMessage.objects.count() == outbox  # a close tells nobody
    # A second run finds nothing.
    assert services.auto_close_resolved(now=NOW) == 0
    assert len(status_events(auto)) == 2  # resolved, closed


def test_a_reopened_ticket_is_left_alone(customer, agent):
    [ticket] = resolved_tickets(customer, 1)
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.IN_PROGRESS)
    assert services.auto_close_resolved(now=NOW) == 0
    assert Ticket.objects.get(pk=ticket.pk).status == Status.IN_PROGRESS


def test_batches_are_bounded_and_oldest_first(customer):
    tickets = [
        *resolved_tickets(customer, 1, resolved=T0),
        *resolved_tickets(customer, 1, resolved=T0 - dt.timedelta(days=1)),
        *resolved_tickets(customer, 1, resolved=T0 - dt.timedelta(days=2)),
    ]
    assert services.auto_close_resolved(now=NOW, batch_size=2) == 2
    statuses = dict(Ticket.objects.values_list("pk", "status"))
    assert [statuses[t.pk] for t in tickets] == [Status.RESOLVED, Status.CLOSED, Status.CLOSED]
    assert services.auto_close_resolved(now=NOW, batch_size=2) == 1


def counted_close(now):
    with CaptureQueriesContext(connection) as queries:
        closed = services.auto_close_resolved(now=now)
    return len(queries), closed


def test_queries_per_batch_do_not_grow_with_its_size(customer):
    resolved_tickets(customer, 1, resolved=T0)
    resolved_tickets(customer, 50, resolved=T0 + dt.timedelta(days=3))
    one_queries, one = counted_close(NOW)
    fifty_queries, fifty = counted_close(NOW + dt.timedelta(days=3))
    assert (one, fifty) == (1, 50)
    # SAVEPOINT, the locked SELECT, the UPDATE, the events' INSERT, RELEASE.
    assert one_queries == fifty_queries == 5
    assert (
        TicketEvent.objects.filter(kind=Kind.STATUS_CHANGED, after__status="closed").count() == 51
    )


@pytest.mark.django_db(transaction=True)
def test_a_ticket_locked_elsewhere_is_skipped_not_waited_for(customer):
    locked, free = resolved_tickets(customer, 2)
    held, release = threading.Event(), threading.Event()
    errors = []

    def hold_lock():
        try:
            with transaction.atomic():
                Ticket.objects.select_for_update().get(pk=locked.pk)
                held.set()
                release.wait(10)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=hold_lock)
    thread.start()
    try:
        assert held.wait(10)
        assert services.auto_close_resolved(now=NOW) == 1
    finally:
        release.set()
        thread.join(10)
    assert not thread.is_alive() and errors == []
    assert Ticket.objects.get(pk=free.pk).status == Status.CLOSED
    assert Ticket.objects.get(pk=locked.pk).status == Status.RESOLVED
    assert services.auto_close_resolved(now=NOW) == 1  # the next run closes it


def test_closing_keeps_the_working_minutes_the_resolution_took(customer, agent):
    [ticket] = resolved_tickets(customer, 1)
    taken = Ticket.objects.get(pk=ticket.pk).resolution_working_minutes
    assert taken is not None
    with at(NOW):
        services.close_ticket(ticket=ticket, by=agent)
    assert Ticket.objects.get(pk=ticket.pk).resolution_working_minutes == taken
    [reopened] = resolved_tickets(customer, 1)
    with at(NOW):
        services.reopen_ticket(ticket=reopened, by=customer)
    assert Ticket.objects.get(pk=reopened.pk).resolution_working_minutes is None
