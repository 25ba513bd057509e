"""The desk's ticket workspace: reply and set the status in one action, templates, preview,
properties edited in place through the services, status changes that ask before they cannot be
undone, merge and link by number, the history in words, and a constant number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from support import services
from support.models import Ticket
from support.models.choices import Status
from tests.factories import UserFactory

from .factories import ResponseTemplateFactory, TeamFactory, make_ticket

pytestmark = pytest.mark.django_db


def _url(ticket, suffix=""):
    return f"/desk/tickets/{ticket.number}/{suffix}"


def test_reply_and_resolve_in_one_action(client, customer, agent):
    ticket = make_ticket(by=customer)
    client.force_login(agent)
    response = client.post(
        _url(ticket), {"body": "Fixed **now**.\nThanks", "then": Status.RESOLVED}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED and ticket.first_responded_at is not None
    reply = ticket.messages.get()
    assert "<strong>now</strong>" in reply.body_html and "<br>" in reply.body_html


def test_a_note_cannot_move_the_ticket(client, customer, agent):
    ticket = make_ticket(by=customer)
    client.force_login(agent)
    response = client.post(
        _url(ticket), {"body": "Between us", "internal": "on", "then": Status.RESOLVED}
    )
    assert response.status_code == 200
    assert "A note cannot set the status" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and not ticket.messages.exists()


def test_a_template_comes_with_its_placeholders_filled(client, customer, agent):
    ticket = make_ticket(by=customer)
    template = ResponseTemplateFactory(body="Hi {{ customer.name }}, {{ agent.name }} here.")
    client.force_login(agent)
    page = client.get(_url(ticket)).content.decode()
    assert f'<option value="{template.pk}">{template.name}</option>' in page
    text = client.get(_url(ticket, f"template/?template={template.pk}"))
    assert text["Content-Type"].startswith("text/plain")
    assert text.content.decode() == f"Hi {ticket.customer_name}, Avery Agent here."
    assert client.get(_url(ticket, "template/?template=999999")).status_code == 404
    client.force_login(customer)
    assert client.get(_url(ticket, f"template/?template={template.pk}")).status_code == 403


def test_the_preview_is_what_the_customer_reads(client, customer, agent):
    ticket = make_ticket(by=customer)
    client.force_login(agent)
    preview = client.post(
        _url(ticket, "preview/"), {"body": "**Hi** <script>alert(1)</script> [x](/relative)"}
    ).content.decode()
    assert "<strong>Hi</strong>" in preview
    assert "<script>" not in preview and 'href="/relative"' not in preview


def test_properties_change_through_the_services_and_are_audited(client, customer, lead, agent):
    team = TeamFactory(members=[agent])
    ticket = make_ticket(by=customer)
    client.force_login(lead)
    response = client.post(
        _url(ticket, "action/"),
        {
            "action": "properties",
            "assignee": agent.pk,
            "team": team.pk,
            "priority": "urgent",
            "category": "",
            "tags": "vip, billing",
        },
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.assigned_to, ticket.team, ticket.priority) == (agent, team, "urgent")
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["billing", "vip"]
    kinds = set(ticket.events.values_list("kind", flat=True))
    assert {"assigned", "priority_changed", "updated"} <= kinds
    history = client.get(_url(ticket)).content.decode()
    assert "Priority: P2 Medium → P0 Urgent" in history or "Medium → " in history
    assert "Assignee: none → Avery Agent" in history


def test_an_agent_cannot_assign_outside_the_team(client, customer, agent):
    stranger = UserFactory(roles=["agent"], full_name="Off Team")
    team = TeamFactory(members=[agent])
    ticket = make_ticket(by=customer, team=team)
    client.force_login(agent)
    response = client.post(
        _url(ticket, "action/"),
        {
            "action": "properties",
            "assignee": stranger.pk,
            "team": team.pk,
            "priority": ticket.priority,
        },
    )
    assert response.status_code == 400
    ticket.refresh_from_db()
    assert ticket.assigned_to_id != stranger.pk


def test_no_status_is_preselected_and_cancelling_asks_first(client, customer, agent):
    ticket = make_ticket(by=customer)
    client.force_login(agent)
    page = client.get(_url(ticket)).content.decode()
    assert '<option value="" selected>Choose a status…</option>' in page
    refused = client.post(_url(ticket, "action/"), {"action": "status", "status": "cancelled"})
    assert refused.status_code == 400 and "cannot be undone" in refused.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    client.post(
        _url(ticket, "action/"), {"action": "status", "status": "cancelled", "confirm": "on"}
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.CANCELLED
    # Nothing runs on a finished ticket.
    page = client.get(_url(ticket)).content.decode()
    assert "overdue" not in page and "not measured: cancelled" in page


def test_merge_asks_for_confirmation_and_link_by_number(client, customer, agent):
    source, target = make_ticket(by=customer), make_ticket(by=customer, subject="The same")
    other = make_ticket(by=customer, subject="Related")
    client.force_login(agent)
    refused = client.post(
        _url(source, "action/"), {"action": "merge", "number": target.number.lower()}
    )
    assert refused.status_code == 400
    assert Ticket.objects.get(pk=source.pk).status == Status.OPEN
    unknown = client.post(
        _url(source, "action/"), {"action": "link", "number": "TKT-19990101-0001"}
    )
    assert "No ticket TKT-19990101-0001 that you can see." in unknown.content.decode()
    client.post(_url(source, "action/"), {"action": "link", "number": other.number})
    assert source.links_out.filter(target=other).exists()
    merged = client.post(
        _url(source, "action/"), {"action": "merge", "number": target.number, "confirm": "on"}
    )
    assert merged.url == _url(target)
    assert Ticket.objects.get(pk=source.pk).status == Status.CLOSED


def test_the_customer_panel_shows_their_other_tickets(client, customer, agent):
    ticket = make_ticket(by=customer, subject="This one")
    make_ticket(by=customer, subject="Their earlier question")
    make_ticket(by=UserFactory(roles=["customer"]), subject="Somebody else")
    client.force_login(agent)
    page = client.get(_url(ticket)).content.decode()
    assert "Their earlier question" in page and "Somebody else" not in page


def test_the_workspace_costs_the_same_queries_at_1_and_50_messages(client, customer, agent):
    ticket = make_ticket(by=customer)
    client.force_login(agent)
    services.add_message(ticket=ticket, by=agent, body="First")

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(_url(ticket)).status_code == 200
        return len(queries)

    one = count()
    for n in range(49):
        services.add_message(ticket=ticket, by=customer if n % 2 else agent, body=f"Message {n}")
    services.change_priority(ticket=ticket, by=agent, priority="high")
    assert count() == one


def test_another_agent_on_the_ticket_is_named_and_whether_they_are_writing(client, customer):
    ticket = make_ticket(by=customer)
    avery = UserFactory(roles=["agent"], full_name="Avery Agent")
    sam = UserFactory(roles=["agent"], full_name="Sam Second")
    client.force_login(avery)
    alone = client.post(_url(ticket, "presence/"), {"state": "viewing"}).content.decode()
    assert "is viewing" not in alone and "writing" not in alone
    client.force_login(sam)
    client.post(_url(ticket, "presence/"), {"state": "replying"})
    client.force_login(avery)
    seen = client.post(_url(ticket, "presence/"), {"state": "viewing"}).content.decode()
    assert "<strong>Sam Second</strong> is writing a reply" in seen
    client.force_login(customer)
    assert client.post(_url(ticket, "presence/"), {"state": "viewing"}).status_code == 403


def test_an_agent_sets_their_own_availability_on_the_queue(client, agent):
    from support.models import AgentProfile

    client.force_login(agent)
    client.post("/desk/availability/", {"status": "away"})
    assert AgentProfile.objects.get(user=agent).status == "away"
    page = client.get("/desk/").content.decode()
    assert '<option value="away" selected>Away</option>' in page
    client.post("/desk/availability/", {"status": "on-the-moon"})
    assert AgentProfile.objects.get(user=agent).status == "away"
