import pytest
from django.urls import reverse

from privacy import services
from privacy.models import PrivacyRequest

REQUESTS = "/api/v1/privacy/requests/"


@pytest.fixture
def as_lead(api_client, lead):
    api_client.force_authenticate(lead)
    return api_client


def test_a_lead_asks_for_an_export_follows_its_progress_and_gets_the_link(as_lead, alice):
    created = as_lead.post(REQUESTS, {"kind": "export", "email": alice.user.email.upper()})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "approved" and body["download_url"] is None
    services.build_export(body["id"])
    shown = as_lead.get(f"{REQUESTS}{body['id']}/").json()
    assert shown["status"] == "done" and shown["progress"] == 100
    assert shown["result"]["tickets"] == 1
    path = shown["download_url"].split("testserver", 1)[1]
    assert path.startswith(reverse("privacy:desk"))


def test_an_erasure_needs_a_second_lead(as_lead, api_client, second_lead, alice):
    created = as_lead.post(REQUESTS, {"kind": "erasure", "email": alice.user.email}).json()
    assert as_lead.post(f"{REQUESTS}{created['id']}/approve/").status_code == 403
    api_client.force_authenticate(second_lead)
    approved = api_client.post(f"{REQUESTS}{created['id']}/approve/")
    assert approved.status_code == 200 and approved.json()["due_at"]
    again = api_client.post(REQUESTS, {"kind": "erasure", "email": alice.user.email})
    assert again.status_code == 409
    assert api_client.post(f"{REQUESTS}{created['id']}/cancel/").json()["status"] == "cancelled"


def test_customers_and_agents_are_refused(api_client, staff, alice):
    for user in (alice.user, staff.agent):
        api_client.force_authenticate(user)
        assert api_client.get(REQUESTS).status_code == 403
        assert (
            api_client.post(REQUESTS, {"kind": "export", "email": "x@example.com"}).status_code
            == 403
        )
    assert PrivacyRequest.objects.count() == 0


def test_holds_and_retention_through_the_api(as_lead, alice):
    hold = as_lead.post(
        "/api/v1/privacy/holds/", {"ticket": alice.ticket.number, "reason": "Dispute"}
    )
    assert hold.status_code == 201 and hold.json()["ticket"] == alice.ticket.number
    assert len(as_lead.get("/api/v1/privacy/holds/").json()["results"]) == 1
    put = as_lead.put(
        "/api/v1/privacy/retention/",
        {"kind": "support.closed_tickets", "days": 30, "action": "anonymise", "enabled": True},
    )
    assert put.status_code == 200
    row = next(r for r in put.json() if r["kind"] == "support.closed_tickets")
    assert row["enabled"] and row["due"] == 0
    bad = as_lead.put(
        "/api/v1/privacy/retention/",
        {"kind": "support.attachments", "days": 30, "action": "anonymise", "enabled": True},
    )
    assert bad.status_code == 400
    released = as_lead.post(f"/api/v1/privacy/holds/{hold.json()['id']}/release/")
    assert released.json()["released_at"]
