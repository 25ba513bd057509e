"""Lookups by ticket number and e-mail address: any letter case, and always through an index.

A lookup no index serves is a scan of every ticket (about half a second at a million); the plans
are read with sequential scans disabled, so a query that could use its index does.
"""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from core.internals.sql import sql_and_params
from core.models import User
from support.models import Ticket
from support.selectors import search_tickets, tickets_for, with_number

from .factories import make_ticket

API = "/api/v1/support/tickets/"


def plan(queryset) -> str:
    sql, params = sql_and_params(queryset)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (
            lambda: with_number(Ticket.objects.all(), "tkt-20261125-0001"),
            "support_tkt_number_unique",
        ),
        (
            lambda: search_tickets(Ticket.objects.all(), "Wile@ACME.example"),
            "support_tkt_customer_email",
        ),
        (lambda: User.objects.with_email(" Wile@ACME.example"), "core_user_email_ci_unique"),
    ],
    ids=["ticket number", "ticket e-mail search", "user e-mail"],
)
def test_lookups_by_number_and_address_use_their_index(db, query, index):
    found = plan(query())
    # "Index Scan using <index>", or "Bitmap Index Scan on <index>" when rows are sorted after.
    assert f"Index Scan using {index}" in found or f"Bitmap Index Scan on {index}" in found, found
    assert "Seq Scan" not in found


def test_a_number_in_any_case_finds_its_ticket(customer, lead):
    ticket = make_ticket(by=customer, subject="Printer on fire")
    for spelling in (ticket.number, ticket.number.lower(), f" {ticket.number.title()} "):
        assert list(with_number(tickets_for(lead), spelling)) == [ticket]
        assert list(search_tickets(tickets_for(lead), spelling)) == [ticket]
    client = APIClient()
    client.force_authenticate(customer)
    response = client.get(f"{API}{ticket.number.lower()}/")
    assert response.status_code == 200 and response.json()["id"] == ticket.pk


def test_an_address_in_any_case_finds_its_tickets_and_nobody_elses(customer, lead):
    mine = make_ticket(by=customer, subject="Mine")
    make_ticket(by=lead, subject="Someone else's", customer_email="other@example.com")
    found = search_tickets(tickets_for(lead), customer.email.upper())
    assert list(found) == [mine]


def test_signing_in_ignores_the_case_of_the_address(customer):
    customer.set_password("pw-123456789")
    customer.save()
    assert User.objects.get_by_natural_key(customer.email.upper()) == customer
    client = APIClient()
    assert client.login(username=f" {customer.email.upper()}", password="pw-123456789")
