import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.bulk import update_rows
from support.models import Ticket
from tests.support.factories import make_ticket

pytestmark = pytest.mark.django_db


def test_changed_fields_of_many_rows_are_written_in_one_statement_and_nothing_else(customer):
    tickets = [make_ticket(by=customer, subject=f"Ticket {n}") for n in range(3)]
    due = timezone.now() + dt.timedelta(hours=3)
    for n, ticket in enumerate(tickets):
        ticket.priority = ["urgent", "high", "low"][n]
        ticket.next_escalation_at = due if n else None
        ticket.escalation_level = n + 1
        ticket.subject = "not asked to be written"
    with CaptureQueriesContext(connection) as queries:
        update_rows(Ticket, tickets, ["priority", "next_escalation_at", "escalation_level"])
    assert len(queries) == 1
    stored = {t.pk: t for t in Ticket.objects.filter(pk__in=[t.pk for t in tickets])}
    for n, ticket in enumerate(tickets):
        row = stored[ticket.pk]
        assert (row.priority, row.next_escalation_at, row.escalation_level) == (
            ["urgent", "high", "low"][n],
            due if n else None,
            n + 1,
        )
        assert row.subject == f"Ticket {n}"


def test_nothing_to_write_writes_nothing():
    with CaptureQueriesContext(connection) as queries:
        update_rows(Ticket, [], ["priority"])
    assert len(queries) == 0


def test_shared_values_nulls_json_and_naive_values_are_written_as_each_field_prepares_them(
    customer,
):
    tickets = [make_ticket(by=customer, subject=f"Ticket {n}") for n in range(3)]
    due = timezone.now() + dt.timedelta(hours=1)
    for n, ticket in enumerate(tickets):
        ticket.priority = "urgent"  # one value for every row
        ticket.next_escalation_at = None  # None in every row
        ticket.resolution_due_at = due if n else None  # None in some rows
        ticket.sla_pauses = [{"from": "a", "n": n}] if n else []
        ticket.sla_paused_minutes = 1.5 * n
        ticket.escalation_level = True if n == 2 else n  # a bool where an int is stored
        ticket.subject = "x" * n  # an empty string
    with CaptureQueriesContext(connection) as queries:
        update_rows(
            Ticket,
            tickets,
            [
                "priority",
                "next_escalation_at",
                "resolution_due_at",
                "sla_pauses",
                "sla_paused_minutes",
                "escalation_level",
                "subject",
            ],
        )
    assert len(queries) == 1
    stored = {t.pk: t for t in Ticket.objects.filter(pk__in=[t.pk for t in tickets])}
    for n, ticket in enumerate(tickets):
        row = stored[ticket.pk]
        assert row.priority == "urgent"
        assert row.next_escalation_at is None
        assert row.resolution_due_at == (due if n else None)
        assert row.sla_pauses == ([{"from": "a", "n": n}] if n else [])
        assert row.sla_paused_minutes == 1.5 * n
        assert row.escalation_level == (1 if n == 2 else n)
        assert row.subject == "x" * n


def test_more_rows_than_a_chunk_take_one_statement_per_chunk(customer):
    from core import bulk

    tickets = [make_ticket(by=customer, subject=f"Ticket {n}") for n in range(3)]
    for n, ticket in enumerate(tickets):
        ticket.escalation_level = n + 4
    old, bulk.CHUNK = bulk.CHUNK, 2
    try:
        with CaptureQueriesContext(connection) as queries:
            update_rows(Ticket, tickets, ["escalation_level"])
    finally:
        bulk.CHUNK = old
    assert len(queries) == 2
    assert sorted(
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values_list(
            "escalation_level", flat=True
        )
    ) == [4, 5, 6]


def test_an_encrypted_field_is_written_encrypted(customer):
    from core import crypto

    tickets = [make_ticket(by=customer, subject=f"Ticket {n}") for n in range(2)]
    for n, ticket in enumerate(tickets):
        ticket.customer_email = f"new{n}@example.com"
        ticket.customer_email_hash = crypto.keyed_hash(ticket.customer_email)
    update_rows(Ticket, tickets, ["customer_email", "customer_email_hash"])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT customer_email FROM support_ticket WHERE id = ANY(%s) ORDER BY id",
            [[t.pk for t in tickets]],
        )
        columns = [row[0] for row in cursor.fetchall()]
    assert all(c.startswith(crypto.TOKEN_PREFIX) and "new" not in c for c in columns)
    assert Ticket.objects.with_customer_email("new1@example.com").get() == tickets[1]
