"""The insurance API as its callers use it: scope (owners their own, 404 otherwise; reviewers
all; technicians none), each action, the refusals, and what a document shows."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.scheduling import WorkState
from insurance import services
from insurance.models import ActivityKind, DocumentActivity, InsuranceDocument, Reminder, Status

from .factories import EXE, HTML, PDF, PNG, approved, in_review, submit

pytestmark = pytest.mark.django_db

BASE = "/api/v1/insurance/documents/"
UTC = dt.UTC


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def upload(name="policy.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def policy(**overrides):
    return {
        "policy_number": "POL-9",
        "insurer": "Acme Mutual",
        "coverage_type": "professional_liability",
        "coverage_start": "2026-01-01",
        "coverage_end": "2026-12-31",
        **overrides,
    }


# --- submitting -------------------------------------------------------------------------------


def test_an_owner_submits_a_pdf_and_sees_it(owner):
    client = client_for(owner)
    response = client.post(BASE, {**policy(), "file": upload()}, format="multipart")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["owner"], body["content_type"]) == (
        "submitted",
        owner.pk,
        "application/pdf",
    )
    assert (body["next_reminder"], body["outstanding_items"]) == (None, [])
    listed = client.get(BASE).json()["results"]
    assert [d["id"] for d in listed] == [body["id"]]


@pytest.mark.parametrize(
    ("name", "content"),
    [("setup.pdf", EXE), ("policy.pdf", HTML)],
    ids=["renamed executable", "HTML posing as a PDF"],
)
def test_a_file_that_is_no_pdf_or_image_is_refused(owner, name, content):
    response = client_for(owner).post(
        BASE, {**policy(), "file": upload(name, content)}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "type_not_allowed"
    assert not InsuranceDocument.objects.exists()


def test_coverage_must_end_after_it_starts(owner):
    response = client_for(owner).post(
        BASE, {**policy(coverage_end="2025-12-31"), "file": upload()}, format="multipart"
    )
    assert response.status_code == 400
    assert "coverage_end" in response.json()["errors"]


# --- who sees what ----------------------------------------------------------------------------


def test_owners_see_only_their_own_documents_and_others_are_404(owner, other_owner):
    mine, theirs = submit(owner), submit(other_owner)
    client = client_for(owner)

    assert [d["id"] for d in client.get(BASE).json()["results"]] == [mine.pk]
    for suffix in ("", "activities/", "download/"):
        assert client.get(f"{BASE}{theirs.pk}/{suffix}").status_code == 404, suffix
    assert client.patch(f"{BASE}{theirs.pk}/", {"insurer": "X"}).status_code == 404
    replaced = client.post(f"{BASE}{theirs.pk}/replace/", {"file": upload()}, format="multipart")
    assert replaced.status_code == 404
    assert InsuranceDocument.objects.get(pk=theirs.pk).status == Status.SUBMITTED


def test_reviewers_see_every_document(owner, other_owner, reviewer):
    documents = {submit(owner).pk, submit(other_owner).pk}
    listed = client_for(reviewer).get(BASE).json()["results"]
    assert {d["id"] for d in listed} == documents


@pytest.mark.parametrize("role", ["technician", "agent", "lead"])
def test_technicians_and_support_staff_have_no_access(request, owner, role):
    document = submit(owner)
    client = client_for(request.getfixturevalue(role))
    assert client.get(BASE).status_code == 403
    assert client.get(f"{BASE}{document.pk}/").status_code == 403
    assert client.get(f"{BASE}{document.pk}/download/").status_code == 403
    assert client.get("/api/v1/insurance/reminders/").status_code == 403


def test_owners_may_not_decide_or_read_the_reminders(owner):
    document = submit(owner)
    client = client_for(owner)
    for step in ("start-review", "approve", "reject", "request-info", "remind"):
        assert client.post(f"{BASE}{document.pk}/{step}/", {}).status_code == 403, step
    assert client.get("/api/v1/insurance/reminders/").status_code == 403
    assert client.get(f"{BASE}{document.pk}/export/").status_code == 403


# --- the review ---------------------------------------------------------------------------------


def test_a_refused_transition_is_409_with_the_allowed_targets(owner, reviewer):
    document = submit(owner)
    response = client_for(reviewer).post(f"{BASE}{document.pk}/approve/", {}, format="json")

    assert response.status_code == 409
    assert response.json()["status"] == "submitted"
    assert response.json()["allowed"] == ["under_review"]


def test_review_approve_shows_the_next_reminder(owner, reviewer, clock):
    document = submit(owner, end=dt.date(2026, 7, 31))
    client = client_for(reviewer)
    assert client.post(f"{BASE}{document.pk}/start-review/").json()["status"] == "under_review"

    body = client.post(f"{BASE}{document.pk}/approve/", {"reason": "Fine"}, format="json").json()

    assert (body["status"], body["reviewer"], body["decision_reason"]) == (
        "approved",
        reviewer.pk,
        "Fine",
    )
    assert body["next_reminder"]["kind"] == "expiry_7d"
    assert body["next_reminder"]["due_at"] == "2026-07-24T07:00:00Z"


def test_reject_needs_a_reason(owner, reviewer):
    document = in_review(owner, reviewer)
    client = client_for(reviewer)
    assert client.post(f"{BASE}{document.pk}/reject/", {}, format="json").status_code == 400
    response = client.post(f"{BASE}{document.pk}/reject/", {"reason": "Blurred"}, format="json")
    assert response.json()["status"] == "rejected"


def test_the_checklist_round_trip(owner, reviewer):
    document = in_review(owner, reviewer)
    asked = client_for(reviewer).post(
        f"{BASE}{document.pk}/request-info/",
        {"items": [{"needed": "Signed page"}, {"needed": "Certificate", "instructions": "PDF"}]},
        format="json",
    )
    assert asked.status_code == 200
    items = asked.json()["outstanding_items"]
    assert [i["needed"] for i in items] == ["Signed page", "Certificate"]
    assert asked.json()["next_reminder"]["kind"] == "missing_info"

    owner_client = client_for(owner)
    first = owner_client.post(
        f"{BASE}{document.pk}/provide-info/",
        {"item": items[0]["id"], "file": SimpleUploadedFile("p.png", PNG)},
        format="multipart",
    )
    assert first.status_code == 200, first.content
    assert [i["needed"] for i in first.json()["outstanding_items"]] == ["Certificate"]
    bad = owner_client.post(
        f"{BASE}{document.pk}/provide-info/",
        {"item": items[1]["id"], "file": upload("c.pdf", HTML)},
        format="multipart",
    )
    assert bad.status_code == 400
    last = owner_client.post(
        f"{BASE}{document.pk}/provide-info/",
        {"item": items[1]["id"], "file": upload("c.pdf")},
        format="multipart",
    )
    assert (last.json()["status"], last.json()["outstanding_items"]) == ("under_review", [])
    assert last.json()["next_reminder"] is None

    item = document.info_requests.get().items.get(position=1)
    downloaded = client_for(reviewer).get(f"{BASE}{document.pk}/items/{item.pk}/download/")
    assert downloaded.status_code == 200
    assert b"".join(downloaded.streaming_content) == PNG


def test_the_owner_replaces_a_document(owner, reviewer):
    document = approved(owner, reviewer)
    response = client_for(owner).post(
        f"{BASE}{document.pk}/replace/",
        {"file": upload("v2.pdf"), "policy_number": "POL-10"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert (response.json()["replaces"], response.json()["policy_number"]) == (
        document.pk,
        "POL-10",
    )
    again = client_for(owner).post(
        f"{BASE}{document.pk}/replace/", {"file": upload()}, format="multipart"
    )
    assert again.status_code == 409


def test_patch_corrects_the_policy_and_a_decided_one_is_409_for_the_owner(owner, reviewer):
    document = submit(owner)
    client = client_for(owner)
    assert client.patch(f"{BASE}{document.pk}/", {"insurer": "Acme Re"}).json()["insurer"] == (
        "Acme Re"
    )
    assert client.patch(f"{BASE}{document.pk}/", {"coverage_end": "2025-01-01"}).status_code == 400
    decided = approved(owner, reviewer)
    assert client.patch(f"{BASE}{decided.pk}/", {"insurer": "X"}).status_code == 409


def test_download_is_permission_checked_and_on_the_record(owner, reviewer):
    document = submit(owner)
    response = client_for(reviewer).get(f"{BASE}{document.pk}/download/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"] == 'inline; filename="policy.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    activity = DocumentActivity.objects.filter(document=document).last()
    assert (activity.kind, activity.actor) == (ActivityKind.DOWNLOADED, reviewer)


def test_activities_are_the_timeline_oldest_first(owner, reviewer):
    document = in_review(owner, reviewer)
    services.reject(document=document, by=reviewer, reason="Blurred")

    for user in (owner, reviewer):
        results = client_for(user).get(f"{BASE}{document.pk}/activities/").json()["results"]
        assert [(a["kind"], a["actor_name"], a["reason"]) for a in results] == [
            ("submitted", owner.display_name, ""),
            ("review_started", reviewer.display_name, ""),
            ("rejected", reviewer.display_name, "Blurred"),
        ]


# --- reminders --------------------------------------------------------------------------------


def test_remind_respects_the_schedule(owner, reviewer, clock):
    document = in_review(owner, reviewer)
    services.request_info(document=document, by=reviewer, items=[{"needed": "Page 2"}])
    client = client_for(reviewer)

    first = client.post(f"{BASE}{document.pk}/remind/")
    assert first.status_code == 202
    assert (first.json()["status"], first.json()["due_at"]) == ("pending", "2026-03-02T08:00:00Z")

    clock.move(hours=2)
    refused = client.post(f"{BASE}{document.pk}/remind/")
    assert refused.status_code == 409
    assert refused.json()["next_allowed_at"] == "2026-03-03T08:00:00+00:00"

    clock.move(hours=22)
    assert client.post(f"{BASE}{document.pk}/remind/").status_code == 202
    assert Reminder.objects.filter(document=document, manual=True).count() == 2


def test_remind_is_refused_without_an_open_request(owner, reviewer):
    document = in_review(owner, reviewer)
    response = client_for(reviewer).post(f"{BASE}{document.pk}/remind/")
    assert response.status_code == 409


def test_reviewers_read_the_reminders(owner, reviewer):
    document = approved(owner, reviewer, end=dt.date(2027, 6, 30))
    client = client_for(reviewer)
    listed = client.get("/api/v1/insurance/reminders/", {"document": document.pk}).json()
    assert [(r["kind"], r["status"]) for r in listed["results"]] == [
        ("expiry_7d", "pending"),
        ("expiry_3d", "pending"),
        ("expiry_0d", "pending"),
    ]
    Reminder.objects.filter(document=document).update(state=WorkState.CANCELLED)
    one = client.get(f"/api/v1/insurance/reminders/{listed['results'][0]['id']}/").json()
    assert one["status"] == "cancelled"
    assert client.post("/api/v1/insurance/reminders/", {}).status_code == 405


def test_the_list_costs_the_same_queries_however_many_documents(owner, reviewer):
    client = client_for(reviewer)

    def queries_for_list():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(BASE).status_code == 200
        return len(captured)

    for _ in range(2):
        services.request_info(
            document=in_review(owner, reviewer), by=reviewer, items=[{"needed": "Page 2"}]
        )
    few = queries_for_list()
    for _ in range(4):
        approved(owner, reviewer)
    assert queries_for_list() == few
