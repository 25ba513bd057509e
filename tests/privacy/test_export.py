import io
import json
import zipfile

import pytest
from django.core import signing
from django.utils import timezone

from core.errors import DomainError, NotAllowed
from privacy import services
from privacy.models import PrivacyEvent, RequestStatus

EVERY_SECTION = {
    "profile",
    "notification_log",
    "tickets",
    "ratings",
    "messages",
    "attachments",
    "emails_received",
    "article_feedback",
    "status_subscriptions",
    "insurance_documents",
    "insurance_activity",
    "bookings",
    "booking_reviews",
    "chat_sessions",
    "ai_interactions",
}


def _archive(request):
    request.refresh_from_db()
    with request.archive.open("rb") as fh:
        zf = zipfile.ZipFile(io.BytesIO(fh.read()))
    return json.loads(zf.read("data.json")), zf


def _export(lead, user, **options):
    request = services.create_request(by=lead, kind="export", user=user, **options)
    services.build_export(request.pk)
    request.refresh_from_db()
    return request


def test_an_export_holds_every_piece_of_the_person_and_nothing_of_anyone_else(
    lead, alice, bob, staff, django_capture_on_commit_callbacks
):
    request = _export(lead, alice.user)
    assert request.status == RequestStatus.DONE and request.progress == 100
    data, zf = _archive(request)
    sections = data["sections"]
    assert {name for name, rows in sections.items() if rows} >= EVERY_SECTION
    text = json.dumps(data)
    assert alice.user.email in text and alice.user.phone in text
    assert f"Reset done, still {alice.token}" in text  # what they wrote
    assert f"Hello {alice.user.full_name}" in text  # what they received
    assert f"Great {alice.token}" in text and f"Clear {alice.token}" in text
    # Nothing of anyone else: not the other customer, not the staff's addresses (the e-mails
    # they received are exported as sent, signature included).
    everything = text + "".join(zf.read(n).decode("latin-1") for n in zf.namelist())
    for value in bob.identifiers + [staff.agent.email, staff.technician.email]:
        assert value not in everything
    # Internal notes and chat whispers are not in a customer's export.
    assert f"NOTE about {alice.token}" not in everything
    assert f"WHISPER {alice.token}" not in everything
    [chat] = sections["chat_sessions"]
    assert [m["text"] for m in chat["messages"] if m["sender"] != "system"] == [
        f"Chat {alice.token}",
        f"Hi {alice.user.full_name}",
    ]
    assert chat["rating_comment"] == f"Chat was great {alice.token}"
    assert all(not m["internal_note"] for m in sections["messages"])
    # The files: the ticket attachment and the insurance document.
    files = [n for n in zf.namelist() if n.startswith("files/")]
    assert len(files) == 2
    assert any(zf.read(n) == f"log of {alice.token}".encode() for n in files)


def test_the_export_is_audited_and_its_link_is_signed_and_expires(lead, alice, settings):
    request = _export(lead, alice.user)
    url = services.download_url(request)
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert services.open_download(token, by=lead).pk == request.pk
    kinds = list(PrivacyEvent.objects.filter(request=request).values_list("kind", flat=True))
    assert kinds == ["requested", "approved", "exported", "downloaded"]
    with pytest.raises(signing.BadSignature):
        services.open_download(token[:-2] + "xx", by=lead)
    request.expires_at = timezone.now()
    request.save(update_fields=["expires_at"])
    with pytest.raises(signing.BadSignature):
        services.open_download(token, by=lead)


def test_internal_notes_only_for_a_staff_members_export_a_second_lead_approves(
    lead, second_lead, alice, staff
):
    with pytest.raises(DomainError):
        services.create_request(
            by=lead, kind="export", user=alice.user, include_internal_notes=True
        )
    request = services.create_request(
        by=lead, kind="export", user=staff.agent, include_internal_notes=True
    )
    assert request.status == RequestStatus.PENDING
    with pytest.raises(NotAllowed):
        services.approve(request=request, by=lead)  # not the one who asked
    services.approve(request=request, by=second_lead)
    services.build_export(request.pk)
    data, _ = _archive(request)
    assert data["internal_notes_included"] is True
    written = data["sections"]["messages_written_on_other_tickets"]
    assert any(m["internal_note"] for m in written)
    assert f"NOTE about {alice.token}" not in json.dumps(data)  # about a customer, not them


def test_agents_and_customers_may_not_ask(staff, alice):
    for who in (staff.agent, alice.user):
        with pytest.raises(NotAllowed):
            services.create_request(by=who, kind="export", user=alice.user)
