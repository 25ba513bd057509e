"""The insurance pages: the reviewers' queue and document page, "My insurance", the files and
the admin, as their users see them."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from insurance import services
from insurance.models import ActivityKind, DocumentActivity, InsuranceDocument, Status

from .factories import HTML, PDF, PNG, approved, in_review, png, submit

pytestmark = pytest.mark.django_db


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def text(response):
    return response.content.decode()


# --- the desk ---------------------------------------------------------------------------------


def test_the_queues_hold_what_they_say(owner, reviewer, clock):
    clock.set(dt.datetime(2026, 7, 10, 8, 0, tzinfo=dt.UTC))
    waiting = submit(owner, insurer="Waiting Ins")
    asked = in_review(owner, reviewer, insurer="Asked Ins")
    services.request_info(document=asked, by=reviewer, items=[{"needed": "Page 2"}])
    soon = approved(owner, reviewer, insurer="Soon Ins", end=dt.date(2026, 8, 1))
    later = approved(owner, reviewer, insurer="Later Ins", end=dt.date(2026, 12, 31))
    lapsed = approved(owner, reviewer, insurer="Lapsed Ins", end=dt.date(2026, 8, 1))
    InsuranceDocument.objects.filter(pk=lapsed.pk).update(status=Status.EXPIRED)
    client = signed_in(reviewer)

    def listed(queue):
        page = text(client.get("/desk/insurance/", {"queue": queue}))
        return {d.insurer for d in (waiting, asked, soon, later, lapsed) if d.insurer in page}

    assert listed("pending") == {"Waiting Ins"}
    assert listed("info_requested") == {"Asked Ins"}
    assert listed("expiring") == {"Soon Ins"}
    assert listed("expired") == {"Lapsed Ins"}


@pytest.mark.parametrize("role", ["owner", "technician", "agent"])
def test_the_desk_pages_are_for_reviewers(request, owner, role):
    document = submit(owner)
    client = signed_in(request.getfixturevalue(role))
    assert client.get("/desk/insurance/").status_code == 403
    assert client.get(f"/desk/insurance/{document.pk}/").status_code == 403
    assert client.post(f"/desk/insurance/{document.pk}/start-review/").status_code == 403
    document.refresh_from_db()
    assert document.status == Status.SUBMITTED


def test_the_document_page_shows_preview_checklist_timeline_and_next_reminder(owner, reviewer):
    document = in_review(owner, reviewer, file=png())
    services.request_info(
        document=document, by=reviewer, items=[{"needed": "Signed page", "instructions": "p. 2"}]
    )

    page = text(signed_in(reviewer).get(f"/desk/insurance/{document.pk}/"))

    assert f'<img class="insurance-preview" src="/insurance/documents/{document.pk}/file/"' in page
    assert "Signed page" in page and "p. 2" in page and "Outstanding" in page
    assert "Information still missing" in page  # the next reminder
    assert "Information requested</strong> by Rita Reviewer" in page
    assert "Remind the owner now" in page
    assert "Approve" not in page  # not open while information is requested


def test_a_pdf_opens_through_the_permission_checked_url(owner, reviewer):
    document = submit(owner)
    page = text(signed_in(reviewer).get(f"/desk/insurance/{document.pk}/"))
    assert f'href="/insurance/documents/{document.pk}/file/"' in page
    assert "Start review" in page


def test_decisions_from_the_desk(owner, reviewer):
    document = submit(owner)
    client = signed_in(reviewer)

    client.post(f"/desk/insurance/{document.pk}/start-review/")
    refused = client.post(f"/desk/insurance/{document.pk}/reject/", {"reason": ""}, follow=True)
    assert "Say why the document is rejected." in text(refused)
    document.refresh_from_db()
    assert document.status == Status.UNDER_REVIEW

    client.post(
        f"/desk/insurance/{document.pk}/request-info/",
        {"items": "Signed page: page 2\nCertificate", "message": "Two things"},
    )
    document.refresh_from_db()
    assert document.status == Status.INFO_REQUESTED
    items = document.info_requests.get().items.all()
    assert [(i.needed, i.instructions) for i in items] == [
        ("Signed page", "page 2"),
        ("Certificate", ""),
    ]

    wrong = client.post(f"/desk/insurance/{document.pk}/approve/", follow=True)
    assert "cannot go from info_requested to approved" in text(wrong)


# --- files ------------------------------------------------------------------------------------


def test_the_file_url_checks_who_asks_and_records_the_download(
    owner, other_owner, reviewer, technician
):
    document = submit(owner)
    url = f"/insurance/documents/{document.pk}/file/"

    for user in (owner, reviewer):
        response = signed_in(user).get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF
        assert response["Content-Disposition"].startswith("inline;")
    for user in (other_owner, technician):
        assert signed_in(user).get(url).status_code == 404
    assert Client().get(url).status_code == 302  # to the sign-in page
    downloads = DocumentActivity.objects.filter(document=document, kind=ActivityKind.DOWNLOADED)
    assert list(downloads.values_list("actor", flat=True)) == [owner.pk, reviewer.pk]


# --- the help center --------------------------------------------------------------------------


def policy_post(file):
    return {
        "policy_number": "POL-1",
        "insurer": "Acme Mutual",
        "coverage_type": "general_liability",
        "coverage_start": "2026-01-01",
        "coverage_end": "2026-12-31",
        "file": file,
    }


def test_my_insurance_uploads_and_lists(owner):
    client = signed_in(owner)
    response = client.post(
        "/help/insurance/", policy_post(SimpleUploadedFile("policy.pdf", PDF)), follow=True
    )
    document = InsuranceDocument.objects.get()
    assert response.redirect_chain[-1][0] == f"/help/insurance/{document.pk}/"
    assert "Submitted" in text(response)
    assert "Acme Mutual POL-1" in text(client.get("/help/insurance/"))


def test_my_insurance_refuses_html_posing_as_a_pdf_and_keeps_nothing(owner):
    response = signed_in(owner).post(
        "/help/insurance/", policy_post(SimpleUploadedFile("policy.pdf", HTML))
    )
    assert response.status_code == 400
    assert "Files of this type are not accepted" in text(response)
    assert not InsuranceDocument.objects.exists()


def test_the_owner_answers_a_request_from_the_document_page(owner, reviewer):
    document = in_review(owner, reviewer)
    request = services.request_info(document=document, by=reviewer, items=[{"needed": "Page 2"}])
    item = request.items.get()
    client = signed_in(owner)
    assert "Page 2" in text(client.get(f"/help/insurance/{document.pk}/"))

    client.post(
        f"/help/insurance/{document.pk}/items/{item.pk}/",
        {"file": SimpleUploadedFile("p2.png", PNG), "note": "Signed"},
    )

    document.refresh_from_db()
    assert document.status == Status.UNDER_REVIEW
    item.refresh_from_db()
    assert (item.file_name, item.note) == ("p2.png", "Signed")


def test_another_owner_s_document_is_not_found(owner, other_owner):
    document = submit(owner)
    client = signed_in(other_owner)
    assert client.get(f"/help/insurance/{document.pk}/").status_code == 404
    replaced = client.post(
        f"/help/insurance/{document.pk}/replace/",
        policy_post(SimpleUploadedFile("p.pdf", PDF)),
    )
    assert replaced.status_code == 404
    assert InsuranceDocument.objects.count() == 1


def test_the_menu_shows_each_their_entry(owner, reviewer, technician):
    assert 'href="/help/insurance/"' in text(signed_in(owner).get("/help/"))
    assert 'href="/desk/insurance/"' in text(signed_in(reviewer).get("/help/"))
    page = text(signed_in(technician).get("/help/"))
    assert "/help/insurance/" not in page and "/desk/insurance/" not in page


# --- the admin --------------------------------------------------------------------------------


def test_reviewers_read_documents_in_the_admin_and_change_nothing(owner, reviewer):
    document = approved(owner, reviewer)
    reviewer.is_staff = True
    reviewer.save()
    client = signed_in(reviewer)

    assert client.get("/admin/insurance/insurancedocument/").status_code == 200
    page = client.get(f"/admin/insurance/insurancedocument/{document.pk}/change/")
    assert page.status_code == 200
    assert "Expires in 7 days" in text(page)
    assert client.get("/admin/insurance/insurancedocument/add/").status_code == 403
