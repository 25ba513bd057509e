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
