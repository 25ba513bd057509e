"""Post-mortems: written on the incident, completed once resolved, needed to close high ones."""

import pytest

from incidents.models import Incident, IncidentEvent, Severity, Status

from .factories import make_incident

pytestmark = pytest.mark.django_db
INCIDENTS = "/api/v1/incidents/"
DRAFT = {
    "summary": "Exports failed for two hours.",
    "root_cause": "A migration locked the exports table.",
    "lessons": "Review migrations for long locks.",
}


@pytest.fixture
def resolved(agent):
    incident = make_incident(by=agent, severity=Severity.CRITICAL)
    Incident.objects.filter(pk=incident.pk).update(status=Status.RESOLVED)
    return incident


def test_a_postmortem_is_written_completed_and_then_the_incident_closes(
    api_client, agent, resolved
):
    api_client.force_authenticate(agent)
    url = f"{INCIDENTS}{resolved.pk}/postmortem/"
    assert api_client.get(url).status_code == 404
    close = f"{INCIDENTS}{resolved.pk}/transition/"
    assert api_client.post(close, {"status": "closed"}, format="json").status_code == 409
    body = api_client.put(
        url,
        {**DRAFT, "action_items": [{"description": "Lint migrations", "owner": agent.pk}]},
        format="json",
    ).json()
    assert body["completed_at"] is None
    assert body["action_items"] == [
        {"description": "Lint migrations", "owner": agent.pk, "due_on": None, "done": False}
    ]
    assert api_client.put(url, {"complete": True}, format="json").json()["completed_at"]
    assert api_client.post(close, {"status": "closed"}, format="json").json()["status"] == "closed"
    assert resolved.events.filter(kind=IncidentEvent.Kind.POSTMORTEM_SAVED).count() == 2
    assert api_client.put(url, {"lessons": "Late"}, format="json").status_code == 409


def test_completing_needs_the_analysis_and_a_resolved_incident(api_client, agent, resolved):
    api_client.force_authenticate(agent)
    url = f"{INCIDENTS}{resolved.pk}/postmortem/"
    response = api_client.put(url, {"summary": "Short", "complete": True}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"root_cause", "lessons"}
    active = make_incident(by=agent)
    response = api_client.put(
        f"{INCIDENTS}{active.pk}/postmortem/", {**DRAFT, "complete": True}, format="json"
    )
    assert response.status_code == 409


def test_an_action_owner_must_be_staff(api_client, agent, customer, resolved):
    api_client.force_authenticate(agent)
    response = api_client.put(
        f"{INCIDENTS}{resolved.pk}/postmortem/",
        {"action_items": [{"description": "X", "owner": customer.pk}]},
        format="json",
    )
    assert response.status_code == 400
