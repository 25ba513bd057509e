"""Updates on a maintenance window: on the status page and its JSON under the window, e-mailed
to its components' subscribers once, posted only by leads, never on a cancelled window."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import OutboxMessage
from incidents import services
from incidents.models import MaintenanceUpdate

from .factories import make_component
from .test_subscribers import confirmed

pytestmark = pytest.mark.django_db
MAINTENANCE = "/api/v1/incidents/maintenance/"


@pytest.fixture
def upgrade(lead, django_capture_on_commit_callbacks):
    db, web = make_component("Database"), make_component("Web")
    with django_capture_on_commit_callbacks(execute=True):
        window = services.schedule_maintenance(
            by=lead,
            title="Database upgrade",
            components=[db],
            starts_at=timezone.now() - timedelta(minutes=5),
            ends_at=timezone.now() + timedelta(hours=1),
        )
    return window, db, web


def test_a_lead_posts_an_update_that_the_status_page_shows_under_the_window(
    api_client, client, lead, upgrade, django_capture_on_commit_callbacks
):
    window, db, web = upgrade
    everyone, db_only = confirmed("all@example.com"), confirmed("db@example.com", [db])
    confirmed("web@example.com", [web])
    api_client.force_authenticate(lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            f"{MAINTENANCE}{window.pk}/updates/", {"body": "Taking 20 minutes longer."}
        )
    assert response.status_code == 201 and response.json()["author"] == lead.pk
    page = client.get("/status/").content.decode()
    assert "Taking 20 minutes longer." in page
    [shown] = client.get("/status/summary.json").json()["maintenance"]
    assert [u["body"] for u in shown["updates"]] == ["Taking 20 minutes longer."]
    mails = OutboxMessage.objects.filter(key__startswith="maintenance-update:")
    assert sorted(mails.values_list("recipient", flat=True)) == sorted(
        [everyone.email, db_only.email]
    )
    assert "Taking 20 minutes longer." in mails.first().body
    listed = api_client.get(f"{MAINTENANCE}{window.pk}/updates/").json()["results"]
    assert [u["body"] for u in listed] == ["Taking 20 minutes longer."]


def test_agents_read_but_do_not_post_and_bad_updates_change_nothing(
    api_client, agent, lead, upgrade
):
    window, _, _ = upgrade
    api_client.force_authenticate(agent)
    assert api_client.get(f"{MAINTENANCE}{window.pk}/updates/").status_code == 200
    assert api_client.post(f"{MAINTENANCE}{window.pk}/updates/", {"body": "x"}).status_code == 403
    api_client.force_authenticate(lead)
    assert api_client.post(f"{MAINTENANCE}{window.pk}/updates/", {"body": "  "}).status_code == 400
    services.cancel_maintenance(maintenance=window, by=lead)
    refused = api_client.post(f"{MAINTENANCE}{window.pk}/updates/", {"body": "Started."})
    assert refused.status_code == 409
    assert not MaintenanceUpdate.objects.exists()
    assert not OutboxMessage.objects.filter(key__startswith="maintenance-update:").exists()
