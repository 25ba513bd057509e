"""The queue's rows written in Python: what each row says, escaped, ticked when selected."""

import pytest
from django.test import Client

from support.services import assign_ticket

from .factories import make_ticket

pytestmark = pytest.mark.django_db


def row_of(html: str, number: str) -> str:
    start = html.index(f'value="{number}"')
    return html[html.rindex("<tr>", 0, start) : html.index("</tr>", start)]


def test_a_row_says_what_the_ticket_is_escaped(customer, agent, lead):
    ticket = make_ticket(
        by=customer, subject="<script>alert(1)</script> & co", customer_name="Wile <E>"
    )
    assign_ticket(ticket=ticket, agent=agent, by=lead)
    client = Client()
    client.force_login(lead)
    html = client.get("/desk/", {"view": "all", "tickets": ticket.number}).content.decode()
    row = row_of(html, ticket.number)
    assert "<script>" not in row and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in row
    assert "Wile &lt;E&gt;" in row
    assert f'href="/desk/tickets/{ticket.number}/"' in row
    checkbox = row[row.index("<input") : row.index(">", row.index("<input"))]
    assert checkbox.endswith(" checked")  # the selected box stays ticked
    assert agent.display_name in row
    assert 'class="pill medium"' in row and "<time datetime=" in row
    assert 'class="pill running"' in row or 'class="pill at_risk"' in row  # the SLA badge


def test_an_empty_view_says_so(client, lead):
    client.force_login(lead)
    html = client.get("/desk/", {"view": "all", "q": "nothingmatchesthis"}).content.decode()
    assert "No tickets here." in html
