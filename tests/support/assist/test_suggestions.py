"""Suggestions on the ticket: from active models only, one click to accept through the ticket
services, decisions recorded, staff only and within the caller's scope."""

import pytest

from support.assist.models import AIInteraction, Suggestion
from support.models import TicketEvent
from tests.factories import UserFactory
from tests.support.factories import TeamFactory, make_ticket

BILLING_TEXT = "bil1 bil2 bil3 bil4 bil5 bil6"


@pytest.fixture
def teams(db):
    return {
        slug: TeamFactory(slug=slug, name=f"{slug.title()} team")
        for slug in ("account", "billing", "technical")
    }


@pytest.fixture
def ticket(customer, teams):
    ticket = make_ticket(by=customer, subject="bil7 bil8", description=f"<p>{BILLING_TEXT}</p>")
    ticket.team = teams["technical"]
    ticket.save(update_fields=["team"])
    return ticket


def _url(ticket, tail=""):
    return f"/api/v1/ai/tickets/{ticket.number}/suggestions/{tail}"


def test_no_active_model_no_suggestion(api_client, agent, ticket, teams):
    teams["technical"].members.add(agent)
    api_client.force_authenticate(agent)
    response = api_client.get(_url(ticket))
    assert response.status_code == 200 and response.json() == {"suggestions": []}


def test_a_suggestion_with_its_confidence_computed_once(api_client, lead, ticket, team_model):
    api_client.force_authenticate(lead)
    first = api_client.get(_url(ticket)).json()["suggestions"]
    assert [(s["field"], s["value"], s["label"], s["current"]) for s in first] == [
        ("team", "billing", "Billing team", "technical")
    ]
    assert 0.5 < first[0]["confidence"] <= 1 and first[0]["model_version"] == team_model.sha256
    row = AIInteraction.objects.get()
    assert (row.feature, row.provider, row.ticket, row.model_version) == (
        "suggest_team",
        "local",
        ticket,
        team_model.sha256,
    )
    assert api_client.get(_url(ticket)).json()["suggestions"] == first
    assert AIInteraction.objects.count() == 1 and Suggestion.objects.count() == 1


def test_accepting_applies_it_through_the_ticket_service(api_client, lead, ticket, team_model):
    api_client.force_authenticate(lead)
    api_client.get(_url(ticket))
    response = api_client.post(_url(ticket, "accept/"), {"field": "team"})
    assert response.status_code == 200 and response.json() == {"suggestions": []}
    ticket.refresh_from_db()
    assert ticket.team.slug == "billing"
    event = TicketEvent.objects.filter(ticket=ticket, kind="updated").latest("pk")
    assert event.actor == lead and "team" in event.after
    suggestion = Suggestion.objects.get()
    assert (suggestion.state, suggestion.decided_by) == (Suggestion.State.ACCEPTED, lead)
    again = api_client.post(_url(ticket, "accept/"), {"field": "team"})
    assert again.status_code == 409


def test_a_dismissed_suggestion_is_not_shown_again(api_client, lead, ticket, team_model):
    api_client.force_authenticate(lead)
    api_client.get(_url(ticket))
    assert api_client.post(_url(ticket, "reject/"), {"field": "team"}).status_code == 200
    assert api_client.get(_url(ticket)).json()["suggestions"] == []
    ticket.refresh_from_db()
    assert ticket.team.slug == "technical"
    assert Suggestion.objects.get().state == Suggestion.State.REJECTED


def test_customers_and_agents_out_of_scope_get_nothing(
    api_client, customer, ticket, teams, team_model
):
    api_client.force_authenticate(customer)
    assert api_client.get(_url(ticket)).status_code == 403
    assert api_client.post(_url(ticket, "accept/"), {"field": "team"}).status_code == 403
    stranger = UserFactory(roles=["customer"])
    api_client.force_authenticate(stranger)
    assert api_client.get(_url(ticket)).status_code in (403, 404)
    outsider = UserFactory(roles=["agent"])
    TeamFactory(members=[outsider])
    api_client.force_authenticate(outsider)
    assert api_client.get(_url(ticket)).status_code == 404
    assert not Suggestion.objects.exists()


def test_the_workspace_shows_it_and_one_click_accepts(client, lead, ticket, team_model):
    client.force_login(lead)
    page = client.get(f"/desk/tickets/{ticket.number}/")
    html = page.content.decode()
    assert "Suggestions" in html and "Billing team" in html and "% confidence" in html
    response = client.post(
        f"/desk/tickets/{ticket.number}/ai/", {"field": "team", "decision": "accept"}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.team.slug == "billing"
