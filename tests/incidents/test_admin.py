"""The admin edits incidents and components through the services (audited)."""

import pytest

from incidents.models import Component, ComponentEvent, IncidentEvent

from .factories import make_component, make_incident

pytestmark = pytest.mark.django_db


def test_the_admin_pages_open_and_an_edit_is_audited(client, admin_user, agent):
    api = make_component("API")
    incident = make_incident(by=agent, components={api: "major_outage"})
    client.force_login(admin_user)
    for url in ("/admin/incidents/incident/", f"/admin/incidents/incident/{incident.pk}/change/",
                "/admin/incidents/component/", f"/admin/incidents/component/{api.pk}/change/",
                "/admin/incidents/maintenance/"):  # fmt: skip
        assert client.get(url).status_code == 200, url
    response = client.post(
        f"/admin/incidents/component/{api.pk}/change/",
        {"name": "Public API", "description": "", "group": "Platform", "order": "2",
         **{f"events-{k}": v for k, v in {"TOTAL_FORMS": "0", "INITIAL_FORMS": "0"}.items()}},
    )  # fmt: skip
    assert response.status_code == 302, response.content
    assert Component.objects.get(pk=api.pk).name == "Public API"
    assert ComponentEvent.objects.filter(component=api, kind="updated").exists()
    assert IncidentEvent.objects.filter(incident=incident, kind="created").exists()
