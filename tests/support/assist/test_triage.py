"""Suggestions in the unassigned queue (triage): computed for new tickets by a job, read in
constant queries, one click to accept, recorded as the model's label until a person confirms
it on the ticket (only then training data)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from support.assist import classifiers, suggestions
from support.assist.models import AIInteraction, Suggestion
from support.models import Ticket
from support.models.choices import Status
from tests.factories import UserFactory
from tests.support.factories import TeamFactory, make_ticket

BILLING_TEXT = "bil1 bil2 bil3 bil4 bil5 bil6"


@pytest.fixture
def teams(db):
    return {
        slug: TeamFactory(slug=slug, name=f"{slug.title()} team")
        for slug in ("account", "billing", "technical")
    }


def _new(customer, teams, n=1):
    made = []
    for i in range(n):
        ticket = make_ticket(
            by=customer, subject=f"bil7 bil8 {i}", description=f"<p>{BILLING_TEXT}</p>"
        )
        ticket.team = teams["technical"]
        ticket.save(update_fields=["team"])
        made.append(ticket)
    return made


def _queue(client, view="unassigned"):
    return client.get(f"/desk/?view={view}").content.decode()


def _row(page, number):
    return next(r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if number in r)


def test_the_job_suggests_for_new_unassigned_tickets_once(customer, agent, teams, team_model):
    tickets = _new(customer, teams, 3)
    assigned = _new(customer, teams)[0]
    Ticket.objects.filter(pk=assigned.pk).update(assigned_to=agent)
    assert suggestions.suggest_new_tickets() == {"team": 3}
    assert suggestions.suggest_new_tickets() == {"team": 0}
    rows = Suggestion.objects.all()
    assert {s.ticket_id for s in rows} == {t.pk for t in tickets}
    assert {(s.field, s.value, s.state) for s in rows} == {("team", "billing", "pending")}
    logged = AIInteraction.objects.filter(feature="suggest_team", provider="local")
    assert logged.count() == 3 and {r.model_version for r in logged} == {team_model.sha256}


def test_the_unassigned_queue_shows_them_and_one_click_applies(client, lead, customer, teams,
                                                               team_model):  # fmt: skip
    ticket = _new(customer, teams)[0]
    suggestions.suggest_new_tickets()
    client.force_login(lead)
    row = _row(_queue(client), ticket.number)
    assert "Suggested:" in row and "Billing team" in row and "%" in row
    assert f'value="{ticket.number}:team"' in row and 'formaction="/desk/ai/triage/"' in row
    assert "Suggested:" not in _row(_queue(client, "all"), ticket.number)  # triage view only
    response = client.post("/desk/ai/triage/", {"accept": f"{ticket.number}:team"})
    assert response.status_code == 302 and response["Location"] == "/desk/?view=unassigned"
    ticket.refresh_from_db()
    assert ticket.team.slug == "billing"
    suggestion = Suggestion.objects.get(ticket=ticket)
    assert (suggestion.state, suggestion.decided_by) == (Suggestion.State.APPLIED, lead)
    assert "Suggested:" not in _row(_queue(client), ticket.number)
    # The model's label: not training data while unconfirmed.
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.RESOLVED, resolved_at=timezone.now())
    assert ticket.pk not in _trained_on()
    page = client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Applied in triage, not yet confirmed" in page
    client.post(f"/desk/tickets/{ticket.number}/ai/", {"field": "team", "decision": "confirm"})
    suggestion.refresh_from_db()
    assert suggestion.state == Suggestion.State.CONFIRMED
    assert ticket.pk in _trained_on()


def _trained_on():
    subjects = set(classifiers.labelled_tickets("team").texts)
    return {
        pk
        for pk, subject, text in Ticket.objects.values_list("pk", "subject", "description_text")
        if classifiers.ticket_text(subject, text) in subjects
    }


def test_a_changed_value_cannot_be_confirmed(client, lead, customer, teams, team_model):
    ticket = _new(customer, teams)[0]
    suggestions.suggest_new_tickets()
    client.force_login(lead)
    client.post("/desk/ai/triage/", {"accept": f"{ticket.number}:team"})
    Ticket.objects.filter(pk=ticket.pk).update(team=teams["account"])
    client.post(f"/desk/tickets/{ticket.number}/ai/", {"field": "team", "decision": "confirm"})
    assert Suggestion.objects.get(ticket=ticket).state == Suggestion.State.APPLIED


def test_bad_triage_input_changes_nothing(client, lead, customer, teams, team_model):
    ticket = _new(customer, teams)[0]
    suggestions.suggest_new_tickets()
    client.force_login(lead)
    assert client.post("/desk/ai/triage/", {"accept": f"{ticket.number}:colour"}).status_code == 404
    assert client.post("/desk/ai/triage/", {"accept": "TKT-0-0:team"}).status_code == 404
    assert client.get("/desk/ai/triage/").status_code == 405
    outsider = UserFactory(roles=["agent"])
    TeamFactory(members=[outsider])
    client.force_login(outsider)
    assert client.post("/desk/ai/triage/", {"accept": f"{ticket.number}:team"}).status_code == 404
    assert Suggestion.objects.get(ticket=ticket).state == Suggestion.State.PENDING


def test_the_triage_queue_costs_the_same_queries_at_1_and_20_suggested(
    client, lead, customer, teams, team_model
):
    _new(customer, teams)
    suggestions.suggest_new_tickets()
    client.force_login(lead)
    _queue(client)

    def cost():
        with CaptureQueriesContext(connection) as queries:
            page = _queue(client)
        return len(queries), page.count("Suggested:")

    one = cost()
    _new(customer, teams, 19)
    suggestions.suggest_new_tickets()
    twenty = cost()
    assert (one[1], twenty[1]) == (1, 20)
    assert twenty[0] == one[0]
