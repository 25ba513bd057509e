"""The desk's forms for declaring an incident and writing its post-mortem: the services' rules
and permissions, errors shown, nothing changed on bad input."""

import pytest

from incidents.models import ActionItem, Incident, IncidentComponent, PostMortem, Status

from .factories import make_component, make_incident

pytestmark = pytest.mark.django_db
NEW = "/desk/incidents/new/"
DECLARE = {
    "title": "Exports fail",
    "description": "Every export returns 503.",
    "severity": "critical",
    "category": "outage",
    "impact": "widespread",
    "is_public": "on",
    "reported_by": "monitoring",
}


def test_staff_declare_an_incident_with_its_component_states(client, agent):
    api, web = make_component(name="API"), make_component(name="Web", order=1)
    make_component(name="Mail", order=2)
    client.force_login(agent)
    form = client.get(NEW).content.decode()
    assert "Declare an incident" in form and "Not affected" in form
    response = client.post(NEW, {**DECLARE, f"component_{api.pk}": "major_outage",
                                 f"component_{web.pk}": "degraded_performance"})  # fmt: skip
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/desk/incidents/{incident.number}/"
    assert (incident.title, incident.severity, incident.status) == ("Exports fail", "critical",
                                                                    Status.DETECTED)  # fmt: skip
    assert incident.created_by == agent and incident.is_public
    assert incident.number.startswith("INC-")
    states = dict(IncidentComponent.objects.values_list("component__name", "state"))
    assert states == {"API": "major_outage", "Web": "degraded_performance"}
    api.refresh_from_db()
    assert api.state == "major_outage"


def test_bad_input_declares_nothing(client, agent):
    api = make_component()
    client.force_login(agent)
    response = client.post(NEW, {**DECLARE, "title": " ", "severity": "apocalyptic",
                                 f"component_{api.pk}": "under_maintenance"})  # fmt: skip
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required" in html or "Required" in html
    assert "Select a valid choice" in html
    assert not Incident.objects.exists()


def test_customers_may_not_declare(client, customer):
    client.force_login(customer)
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, DECLARE).status_code == 403
    assert not Incident.objects.exists()


def _resolved(agent):
    incident = make_incident(by=agent, title="Exports fail")
    Incident.objects.filter(pk=incident.pk).update(status=Status.RESOLVED)
    return incident


def _postmortem_data(**fields):
    data = {
        "summary": "Exports failed for two hours.",
        "root_cause": "A migration locked the exports table.",
        "contributing_factors": "No lock timeout.",
        "lessons": "Review migrations for long locks.",
        "actions-TOTAL_FORMS": "3",
        "actions-INITIAL_FORMS": "0",
        "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "100",
    }
    return data | fields


def test_the_postmortem_editor_writes_text_actions_and_completes(client, agent, lead):
    incident = _resolved(agent)
    client.force_login(agent)
    url = f"/desk/incidents/{incident.number}/postmortem/"
    assert (
        "Write the post-mortem"
        in client.get(f"/desk/incidents/{incident.number}/").content.decode()
    )
    assert client.get(url).status_code == 200
    response = client.post(url, _postmortem_data(**{
        "actions-0-description": "Lint migrations for locks",
        "actions-0-owner": str(lead.pk),
        "actions-0-due_on": "2026-12-20",
        "actions-1-description": "Add a lock timeout",
        "actions-1-done": "on",
        "complete": "on",
    }))  # fmt: skip
    assert response.status_code == 302
    postmortem = PostMortem.objects.get(incident=incident)
    assert postmortem.is_complete and postmortem.completed_by == agent
    assert postmortem.root_cause == "A migration locked the exports table."
    rows = list(ActionItem.objects.values_list("description", "owner", "due_on", "done"))
    assert [(d, o, str(due) if due else None, done) for d, o, due, done in rows] == [
        ("Lint migrations for locks", lead.pk, "2026-12-20", False),
        ("Add a lock timeout", None, None, True),
    ]
    # The editor shows what was saved; clearing a row removes that action item.
    html = client.get(url).content.decode()
    assert "Lint migrations for locks" in html and "Add a lock timeout" in html
    client.post(url, _postmortem_data(**{
        "actions-TOTAL_FORMS": "2", "actions-INITIAL_FORMS": "2",
        "actions-0-description": "Lint migrations for locks", "actions-0-owner": str(lead.pk),
        "actions-1-description": "", "complete": "on",
    }))  # fmt: skip
    assert list(ActionItem.objects.values_list("description", flat=True)) == [
        "Lint migrations for locks"
    ]


def test_a_postmortem_refused_changes_nothing(client, agent, customer):
    incident = make_incident(by=agent)  # not resolved: it cannot be completed yet
    client.force_login(agent)
    url = f"/desk/incidents/{incident.number}/postmortem/"
    response = client.post(url, _postmortem_data(complete="on"))
    assert response.status_code == 400
    assert "once the incident is resolved" in response.content.decode()
    assert not PostMortem.objects.exists()
    # An action with an owner and no description, and an owner who is not staff.
    bad_rows = {
        "actions-0-owner": str(agent.pk),
        "actions-1-description": "Call them",
        "actions-1-owner": str(customer.pk),
    }
    response = client.post(url, _postmortem_data(**bad_rows))
    assert response.status_code == 400
    html = response.content.decode()
    assert "An action item needs a description" in html and "Select a valid choice" in html
    assert not PostMortem.objects.exists() and not ActionItem.objects.exists()
    client.force_login(customer)
    assert client.post(url, _postmortem_data()).status_code == 403
    assert not PostMortem.objects.exists()


def test_component_states_change_on_the_incident_page(client, agent, customer):
    api, web = make_component(name="API"), make_component(name="Web", order=1)
    incident = make_incident(by=agent, components={api: "major_outage"})
    page = f"/desk/incidents/{incident.number}/"
    client.force_login(agent)
    assert "Save component states" in client.get(page).content.decode()
    client.post(f"{page}components/", {f"component_{api.pk}": "partial_outage",
                                       f"component_{web.pk}": "degraded_performance"})  # fmt: skip
    states = dict(IncidentComponent.objects.values_list("component__name", "state"))
    assert states == {"API": "partial_outage", "Web": "degraded_performance"}
    client.post(f"{page}components/", {f"component_{web.pk}": "exploded"})
    client.force_login(customer)
    assert client.post(f"{page}components/", {}).status_code == 403
    states = dict(IncidentComponent.objects.values_list("component__name", "state"))
    assert states == {"API": "partial_outage", "Web": "degraded_performance"}
    web.refresh_from_db()
    assert web.state == "degraded_performance"
