"""Reply rules, internal notes that never reach customers, and attachments through the API."""

import re
import struct
import zlib

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.utils import timezone

from core.errors import DomainError, NotAllowed
from core.models import OutboxMessage
from support import services
from support.models import Attachment, MessageRecipient, Ticket, TicketLink, TicketMessage
from support.models.choices import LinkKind, Status

from .factories import make_ticket

pytestmark = pytest.mark.django_db

NOTE = "SECRET-NOTE-customer-is-difficult"


def _set(ticket, **fields):
    Ticket.objects.filter(pk=ticket.pk).update(**fields)
    ticket.refresh_from_db()
    return ticket


def png_bytes() -> bytes:
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def pdf_bytes(*pages: str) -> bytes:
    """A valid PDF with one line of Helvetica text per page (a viewer can render it)."""
    count = len(pages)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(b"%d 0 R" % (4 + 2 * n) for n in range(count))
        + b"] /Count %d >>" % count,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for n, text in enumerate(pages):
        stream = b"BT /F1 24 Tf 72 720 Td (%s) Tj ET" % text.encode("latin-1")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * n)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


# --- reply rules -----------------------------------------------------------------------------


def test_customer_reply_to_waiting_on_customer_moves_to_in_progress(customer, agent):
    ticket = _set(make_ticket(by=customer), status=Status.WAITING_ON_CUSTOMER, assigned_to=agent)
    services.add_message(ticket=ticket, by=customer, body="Here is the info")
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS
    assert ticket.customer_last_reply_at is not None


def test_customer_reply_reopens_a_resolved_ticket(customer, agent):
    ticket = make_ticket(by=customer)
    services.resolve_ticket(ticket=ticket, by=agent)
    ticket.refresh_from_db()
    assert ticket.resolved_at is not None
    services.add_message(ticket=ticket, by=customer, body="Still broken")
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS
    assert ticket.resolved_at is None
    assert ticket.sla_paused_at is None


def test_customer_reply_to_closed_ticket_opens_a_linked_follow_up(customer, agent):
    ticket = _set(make_ticket(by=customer), status=Status.CLOSED, closed_at=timezone.now())
    before = Ticket.objects.values().get(pk=ticket.pk)
    messages_before = ticket.messages.count()
    message = services.add_message(ticket=ticket, by=customer, body="It is back")
    follow_up = message.ticket
    assert follow_up.pk != ticket.pk
    assert follow_up.customer == customer
    assert follow_up.status == Status.OPEN
    assert TicketLink.objects.filter(
        source=follow_up, target=ticket, kind=LinkKind.FOLLOW_UP
    ).exists()
    assert "It is back" in message.body_text
    assert ticket.messages.count() == messages_before
    after = Ticket.objects.values().get(pk=ticket.pk)
    assert after == before


def test_customer_reply_to_cancelled_ticket_opens_a_follow_up(api_client, customer):
    ticket = _set(make_ticket(by=customer), status=Status.CANCELLED)
    api_client.force_authenticate(customer)
    response = api_client.post(
        f"/api/v1/support/tickets/{ticket.pk}/messages/", {"body": "again"}, format="json"
    )
    assert response.status_code == 201, response.content
    link = TicketLink.objects.get(target=ticket, kind=LinkKind.FOLLOW_UP)
    assert link.source.messages.filter(body_text__contains="again").exists()


def test_first_public_agent_reply_sets_first_responded_at_but_a_note_does_not(customer, agent):
    ticket = make_ticket(by=customer)
    services.add_message(ticket=ticket, by=agent, body="note", internal=True)
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None
    first = services.add_message(ticket=ticket, by=agent, body="Hello")
    ticket.refresh_from_db()
    assert ticket.first_responded_at == first.created_at
    services.add_message(ticket=ticket, by=agent, body="Hello again")
    ticket.refresh_from_db()
    assert ticket.first_responded_at == first.created_at


def test_customer_reply_does_not_stop_the_first_response_clock(customer):
    ticket = make_ticket(by=customer)
    services.add_message(ticket=ticket, by=customer, body="anyone?")
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None


def test_customers_cannot_write_internal_notes(api_client, customer):
    ticket = make_ticket(by=customer)
    with pytest.raises(NotAllowed):
        services.add_message(ticket=ticket, by=customer, body="x", internal=True)
    api_client.force_authenticate(customer)
    response = api_client.post(
        f"/api/v1/support/tickets/{ticket.pk}/messages/",
        {"body": "x", "internal": True},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not ticket.messages.filter(is_internal=True).exists()


# --- notes never reach customers -------------------------------------------------------------


@pytest.fixture
def noted(customer, agent):
    """A ticket with a public reply and an internal note carrying a file."""
    ticket = make_ticket(by=customer)
    _set(ticket, assigned_to=agent)
    services.add_message(ticket=ticket, by=agent, body="Public answer")
    note = services.add_message(
        ticket=ticket,
        by=agent,
        body=f"<p>{NOTE}</p>",
        internal=True,
        attachments=[SimpleUploadedFile("internal.txt", f"{NOTE} file".encode())],
    )
    return ticket, note


def test_note_is_not_in_customer_list_or_detail(api_client, customer, noted):
    ticket, _ = noted
    api_client.force_authenticate(customer)
    for url in ("/api/v1/support/tickets/", f"/api/v1/support/tickets/{ticket.pk}/"):
        response = api_client.get(url)
        assert response.status_code == 200
        assert NOTE not in response.content.decode()
        assert "internal.txt" not in response.content.decode()
        assert "unread_count" not in response.content.decode()


def test_note_is_not_in_customer_messages(api_client, customer, agent, noted):
    ticket, note = noted
    api_client.force_authenticate(customer)
    response = api_client.get(f"/api/v1/support/tickets/{ticket.pk}/messages/")
    assert response.status_code == 200
    content = response.content.decode()
    assert NOTE not in content and "internal.txt" not in content
    results = response.json()["results"]
    assert [m["body_text"] for m in results] == ["Public answer"]
    assert "is_internal" not in results[0] and "recipients" not in results[0]
    # Staff see it.
    api_client.force_authenticate(agent)
    staff = api_client.get(f"/api/v1/support/tickets/{ticket.pk}/messages/").json()["results"]
    assert any(m["id"] == note.pk and m["is_internal"] for m in staff)


def test_note_produces_no_customer_outbox_row(customer, noted):
    ticket, note = noted
    to_customer = OutboxMessage.objects.filter(recipient=ticket.customer_email)
    assert to_customer.exists()  # creation confirmation and the public reply
    assert not to_customer.filter(key__contains=f"message:{note.pk}").exists()
    for row in OutboxMessage.objects.filter(recipient_user=customer):
        assert NOTE not in row.body and NOTE not in row.html_body and NOTE not in row.subject
    for row in to_customer:
        assert NOTE not in row.body and NOTE not in row.html_body and NOTE not in row.subject


def test_delivered_customer_mail_carries_no_note(customer, noted, mailoutbox):
    from core.notifications.dispatch import deliver

    ticket, _ = noted
    for pk in OutboxMessage.objects.filter(channel="email").values_list("pk", flat=True):
        deliver(pk)
    to_customer = [m for m in mailoutbox if ticket.customer_email in m.to]
    assert to_customer
    for mail in to_customer:
        text = mail.subject + mail.body + "".join(str(a[0]) for a in mail.alternatives)
        assert NOTE not in text


def test_customer_events_are_public_only(api_client, customer, agent, noted):
    ticket, _ = noted
    services.change_status(ticket=ticket, to=Status.IN_PROGRESS, by=agent)
    api_client.force_authenticate(customer)
    response = api_client.get(f"/api/v1/support/tickets/{ticket.pk}/events/")
    assert response.status_code == 200
    kinds = {event["kind"] for event in response.json()["results"]}
    assert "note_added" not in kinds and "attachment_added" not in kinds
    assert kinds <= {"created", "status_changed", "merged", "follow_up_created"}
    assert NOTE not in response.content.decode()
    api_client.force_authenticate(agent)
    staff_kinds = {
        e["kind"]
        for e in api_client.get(f"/api/v1/support/tickets/{ticket.pk}/events/").json()["results"]
    }
    assert "note_added" in staff_kinds


def test_note_attachment_is_invisible_and_not_downloadable(api_client, customer, agent, noted):
    ticket, note = noted
    attachment = Attachment.objects.get(message=note)
    api_client.force_authenticate(customer)
    listing = api_client.get(f"/api/v1/support/tickets/{ticket.pk}/attachments/")
    assert listing.status_code == 200
    assert listing.json()["results"] == []
    download = api_client.get(
        f"/api/v1/support/tickets/{ticket.pk}/attachments/{attachment.pk}/download/"
    )
    assert download.status_code == 404
    api_client.force_authenticate(agent)
    files = api_client.get(f"/api/v1/support/tickets/{ticket.pk}/attachments/").json()
    assert len(files["results"]) == 1
    staff_download = api_client.get(
        f"/api/v1/support/tickets/{ticket.pk}/attachments/{attachment.pk}/download/"
    )
    assert staff_download.status_code == 200


def test_note_creates_no_read_receipt_for_the_customer(customer, agent, noted):
    ticket, note = noted
    assert not MessageRecipient.objects.filter(message=note, recipient=customer).exists()
    assert MessageRecipient.objects.filter(ticket=ticket, recipient=customer).count() == 1


def test_agents_get_unread_counts_and_reading_clears_them(api_client, customer, agent):
    ticket = _set(make_ticket(by=customer), assigned_to=agent)
    services.add_message(ticket=ticket, by=customer, body="one")
    services.add_message(ticket=ticket, by=customer, body="two")
    api_client.force_authenticate(agent)
    [row] = api_client.get("/api/v1/support/tickets/").json()["results"]
    assert row["unread_count"] == 2
    api_client.get(f"/api/v1/support/tickets/{ticket.pk}/messages/")
    [row] = api_client.get("/api/v1/support/tickets/").json()["results"]
    assert row["unread_count"] == 0


# --- attachments through the API -------------------------------------------------------------


def _post_files(api_client, ticket, *files, body="see file"):
    return api_client.post(
        f"/api/v1/support/tickets/{ticket.pk}/messages/",
        {"body": body, "files": list(files)},
        format="multipart",
    )


def _download(api_client, ticket, attachment_id):
    response = api_client.get(
        f"/api/v1/support/tickets/{ticket.pk}/attachments/{attachment_id}/download/"
    )
    content = b"".join(response.streaming_content) if response.status_code == 200 else b""
    return response, content


def test_png_is_stored_and_served_inline(api_client, customer):
    ticket = make_ticket(by=customer)
    api_client.force_authenticate(customer)
    data = png_bytes()
    response = _post_files(api_client, ticket, SimpleUploadedFile("shot.png", data, "image/png"))
    assert response.status_code == 201, response.content
    [meta] = response.json()["attachments"]
    assert meta["content_type"] == "image/png" and meta["size"] == len(data)
    download, content = _download(api_client, ticket, meta["id"])
    assert download.status_code == 200
    assert content == data
    assert download["Content-Type"] == "image/png"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"].startswith("inline")


def test_text_file_is_served_as_attachment(api_client, customer):
    ticket = make_ticket(by=customer)
    api_client.force_authenticate(customer)
    upload = SimpleUploadedFile("log.txt", b"line one\nline two\n", "text/plain")
    response = _post_files(api_client, ticket, upload)
    assert response.status_code == 201, response.content
    [meta] = response.json()["attachments"]
    download, content = _download(api_client, ticket, meta["id"])
    assert content == b"line one\nline two\n"
    assert download["Content-Type"].startswith("text/plain")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"].startswith("attachment")


def _assert_nothing_stored(ticket, messages_before):
    assert TicketMessage.objects.filter(ticket=ticket).count() == messages_before
    assert not Attachment.objects.filter(ticket=ticket).exists()


@pytest.mark.parametrize(
    ("name", "content", "declared"),
    [
        ("invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, "application/pdf"),
        ("photo.png", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "image/png"),
        ("page.png", b"<html><body>hi</body></html>", "image/png"),
        ("run.pdf", b"#!/bin/sh\nrm -rf /\n", "application/pdf"),
    ],
    ids=["exe-as-pdf", "html-as-png", "html-body-as-png", "script-as-pdf"],
)
def test_disguised_files_are_refused_and_nothing_is_stored(
    api_client, customer, name, content, declared
):
    ticket = make_ticket(by=customer)
    before = TicketMessage.objects.filter(ticket=ticket).count()
    api_client.force_authenticate(customer)
    response = _post_files(api_client, ticket, SimpleUploadedFile(name, content, declared))
    assert response.status_code == 400, response.content
    assert set(response.json()) >= {"detail", "code", "errors"}
    _assert_nothing_stored(ticket, before)


def test_oversized_file_is_refused(api_client, customer, settings):
    settings.ATTACHMENT_MAX_BYTES = 1000
    ticket = make_ticket(by=customer)
    before = TicketMessage.objects.filter(ticket=ticket).count()
    api_client.force_authenticate(customer)
    response = _post_files(api_client, ticket, SimpleUploadedFile("big.txt", b"a" * 1001))
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "too_large"
    _assert_nothing_stored(ticket, before)


def test_one_bad_file_among_good_ones_stores_nothing(api_client, customer):
    ticket = make_ticket(by=customer)
    before = TicketMessage.objects.filter(ticket=ticket).count()
    api_client.force_authenticate(customer)
    response = _post_files(
        api_client,
        ticket,
        SimpleUploadedFile("ok.png", png_bytes()),
        SimpleUploadedFile("bad.pdf", b"MZ" + b"\x00" * 100),
    )
    assert response.status_code == 400
    _assert_nothing_stored(ticket, before)


@pytest.mark.parametrize(
    "name", ["../../../etc/passwd.txt", "..\\..\\windows\\evil.txt", "/abs/path.txt", "..txt"]
)
def test_path_traversal_names_are_stored_safely(customer, name):
    ticket = make_ticket(by=customer)

    class Upload(SimpleUploadedFile):
        # Django's UploadedFile strips directories itself; keep the raw name to test ours.
        def _set_name(self, value):
            self._name = value

        name = property(lambda self: self._name, _set_name)

    upload = Upload("x", b"hello\n", "text/plain")
    upload.name = name
    message = services.add_message(ticket=ticket, by=customer, body="f", attachments=[upload])
    [attachment] = message.attachments.all()
    for stored in (attachment.original_name, attachment.storage_key, attachment.file.name):
        assert ".." not in stored.replace("..txt", "")
        assert "\\" not in stored
        assert not stored.startswith("/")
    assert "/" not in attachment.original_name
    assert attachment.file.name == attachment.storage_key
    assert attachment.storage_key.endswith(attachment.original_name)
    with attachment.file.open("rb") as fh:
        assert fh.read() == b"hello\n"


def test_customer_search_does_not_match_note_text(api_client, customer, noted):
    api_client.force_authenticate(customer)
    response = api_client.get("/api/v1/support/tickets/", {"q": NOTE})
    assert response.status_code == 200
    assert response.json()["results"] == []
    assert api_client.get("/api/v1/support/tickets/", {"q": "spins"}).json()["results"]


def test_note_is_not_on_the_help_center_page(client, customer, noted):
    ticket, _ = noted
    client.force_login(customer)
    response = client.get(f"/help/tickets/{ticket.number}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Public answer" in page
    assert NOTE not in page and "internal.txt" not in page


def test_other_customer_gets_404_on_the_help_center_page(client, noted):
    from core.roles import Role
    from tests.factories import UserFactory

    ticket, _ = noted
    client.force_login(UserFactory(roles=[Role.CUSTOMER]))
    assert client.get(f"/help/tickets/{ticket.number}/").status_code == 404


def test_message_post_with_files_is_idempotent(api_client, customer):
    ticket = make_ticket(by=customer)
    api_client.force_authenticate(customer)
    before = TicketMessage.objects.filter(ticket=ticket).count()
    responses = [
        api_client.post(
            f"/api/v1/support/tickets/{ticket.pk}/messages/",
            {"body": "with file", "files": [SimpleUploadedFile("shot.png", png_bytes())]},
            format="multipart",
            HTTP_IDEMPOTENCY_KEY="msg-1",
        )
        for _ in range(2)
    ]
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[1]["Idempotent-Replayed"] == "true"
    assert responses[0].json()["id"] == responses[1].json()["id"]
    assert TicketMessage.objects.filter(ticket=ticket).count() == before + 1
    assert Attachment.objects.filter(ticket=ticket).count() == 1


# --- files are stored outside the ticket lock ------------------------------------------------


class LockProbeStorage(FileSystemStorage):
    """Records, at each save, whether another session could lock the ticket row right now."""

    ticket_id = None
    probes: list = []

    def _save(self, name, content):
        from django.db import OperationalError, connection, connections

        probe = connections.create_connection("default")
        try:
            with probe.cursor() as cursor:
                cursor.execute(
                    "SELECT id FROM support_ticket WHERE id = %s FOR UPDATE NOWAIT",
                    [self.ticket_id],
                )
                outcome = "free" if cursor.fetchall() else "no such row"
        except OperationalError:
            outcome = "held by the writer"
        finally:
            probe.close()
        LockProbeStorage.probes.append((outcome, connection.in_atomic_block))
        return super()._save(name, content)


def _use_bucket(settings, monkeypatch, backend: str, location) -> None:
    """Point the support bucket, and Attachment.file (resolved at import), at a new storage."""
    from core.attachments import get_bucket_storage

    settings.STORAGES = {
        **settings.STORAGES,
        "support-attachments": {
            "BACKEND": backend,
            "OPTIONS": {"location": location, "base_url": None},
        },
    }
    field = Attachment._meta.get_field("file")
    monkeypatch.setattr(field, "storage", get_bucket_storage("support-attachments"))


@pytest.fixture
def bucket(settings, monkeypatch, tmp_path):
    """The support bucket as a fresh folder."""
    _use_bucket(settings, monkeypatch, "django.core.files.storage.FileSystemStorage", tmp_path)
    return tmp_path


def _stored(root):
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.mark.django_db(transaction=True)
def test_the_ticket_row_is_not_locked_while_files_are_stored(
    settings, monkeypatch, tmp_path, customer
):
    _use_bucket(settings, monkeypatch, f"{__name__}.LockProbeStorage", tmp_path)
    ticket = make_ticket(by=customer)
    LockProbeStorage.ticket_id, LockProbeStorage.probes = ticket.pk, []

    message = services.add_message(
        ticket=ticket,
        by=customer,
        body="two files",
        attachments=[
            SimpleUploadedFile("a.png", png_bytes()),
            SimpleUploadedFile("b.txt", b"hello\n"),
        ],
    )

    # Another session could take the row lock during each write, and no transaction was open.
    assert LockProbeStorage.probes == [("free", False), ("free", False)]
    assert _stored(tmp_path) == set(message.attachments.values_list("storage_key", flat=True))


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("support.models.Attachment.save", IntegrityError("the insert failed")),
        ("support.services.messages._address", DomainError("refused under the lock")),
    ],
    ids=["row-insert-fails", "refused-after-the-rows"],
)
def test_a_failing_row_write_leaves_no_stored_file(bucket, customer, monkeypatch, target, error):
    ticket = make_ticket(by=customer)
    before = TicketMessage.objects.filter(ticket=ticket).count()

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(target, fail)
    with pytest.raises(type(error)):
        services.add_message(
            ticket=ticket,
            by=customer,
            body="with file",
            attachments=[SimpleUploadedFile("a.png", png_bytes())],
        )
    assert _stored(bucket) == set()
    _assert_nothing_stored(ticket, before)


def test_a_follow_up_to_a_closed_ticket_keeps_its_file(bucket, customer):
    ticket = _set(make_ticket(by=customer), status=Status.CLOSED, closed_at=timezone.now())
    message = services.add_message(
        ticket=ticket,
        by=customer,
        body="It is back",
        attachments=[SimpleUploadedFile("a.txt", b"hello\n")],
    )
    [attachment] = message.attachments.all()
    assert message.ticket_id != ticket.pk
    assert attachment.ticket_id == message.ticket_id
    assert _stored(bucket) == {attachment.storage_key} == {attachment.file.name}


def test_the_orphan_sweep_keeps_message_files_and_removes_a_rolled_back_upload(bucket, customer):
    from datetime import timedelta

    from django.core.cache import cache

    from core.attachments import store_uploads
    from core.housekeeping import sweep_orphaned_files

    cache.delete("core:orphan-sweep:support-attachments")
    ticket = make_ticket(by=customer)
    message = services.add_message(
        ticket=ticket, by=customer, body="f", attachments=[SimpleUploadedFile("a.txt", b"hi\n")]
    )
    [kept] = message.attachments.values_list("storage_key", flat=True)
    [orphan] = store_uploads([SimpleUploadedFile("b.txt", b"lost\n")], bucket="support-attachments")

    later = timezone.now() + timedelta(days=2)
    assert sweep_orphaned_files(later, buckets=["support-attachments"]) == {
        "support-attachments": 1
    }
    assert _stored(bucket) == {kept}
    assert orphan.name != kept
    cache.delete("core:orphan-sweep:support-attachments")


# --- an internal note moves nothing a customer sees (issue 10) -----------------------------------


def test_an_internal_note_moves_nothing_a_customer_can_see(api_client, client, customer, agent):
    ticket = make_ticket(by=customer, subject="Quiet note")
    services.add_message(ticket=ticket, by=agent, body="Public answer")
    api_client.force_authenticate(customer)
    url = f"/api/v1/support/tickets/{ticket.pk}/"
    before = api_client.get(url).json()
    listed_before = api_client.get("/api/v1/support/tickets/").json()
    client.force_login(customer)

    def help_home() -> str:  # the page without its per-response CSRF masks
        page = client.get("/help/").content.decode()
        return re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+', "", page)

    page_before = help_home()

    services.add_message(ticket=ticket, by=agent, body="Internal: refund later", internal=True)

    after = api_client.get(url).json()
    assert after == before  # last_message_at, updated_at and every other field unchanged
    assert api_client.get("/api/v1/support/tickets/").json() == listed_before
    assert help_home() == page_before
    assert "refund" not in client.get(f"/help/tickets/{ticket.number}/").content.decode()


def test_a_public_reply_still_moves_last_activity(customer, agent):
    ticket = make_ticket(by=customer)
    services.add_message(ticket=ticket, by=agent, body="note", internal=True)
    ticket.refresh_from_db()
    assert ticket.last_message_at is None or ticket.last_message_at <= ticket.created_at
    reply = services.add_message(ticket=ticket, by=agent, body="answer")
    ticket.refresh_from_db()
    assert ticket.last_message_at == reply.created_at
    assert ticket.updated_at >= reply.created_at


# --- files sent with the request itself -----------------------------------------------------


def test_request_files_are_stored_with_the_new_ticket_and_visible_to_its_customer(
    api_client, customer
):
    upload = SimpleUploadedFile("screen.png", png_bytes(), "image/png")
    ticket = services.create_ticket(
        by=customer, subject="Broken screen", description="See the photo", attachments=[upload]
    )
    [attachment] = Attachment.objects.filter(ticket=ticket)
    assert attachment.message is None
    assert attachment.content_type == "image/png"
    api_client.force_authenticate(customer)
    files = api_client.get(f"/api/v1/support/tickets/{ticket.pk}/attachments/").json()
    assert [item["id"] for item in files["results"]] == [attachment.pk]
    download, content = _download(api_client, ticket, attachment.pk)
    assert content == png_bytes()


def test_a_refused_request_file_creates_no_ticket(customer):
    upload = SimpleUploadedFile("run.pdf", b"#!/bin/sh\nrm -rf /\n", "application/pdf")
    before = Ticket.objects.count()
    with pytest.raises(Exception) as caught:
        services.create_ticket(by=customer, subject="Script", attachments=[upload])
    assert hasattr(caught.value, "messages")
    assert Ticket.objects.count() == before
    assert not Attachment.objects.exists()


def test_a_request_that_fails_after_storing_its_files_deletes_them(customer, monkeypatch):
    from support.services import messages as message_services

    stored_names = []

    def failing_store(ticket, message, stored, *, by):
        stored_names.extend(item.name for item in stored)
        raise DomainError("database went away")

    monkeypatch.setattr(message_services, "store_attachments", failing_store)
    upload = SimpleUploadedFile("screen.png", png_bytes(), "image/png")
    with pytest.raises(DomainError):
        services.create_ticket(by=customer, subject="Broken", attachments=[upload])
    assert stored_names
    storage = Attachment._meta.get_field("file").storage
    assert not any(storage.exists(name) for name in stored_names)
    assert not Ticket.objects.filter(subject="Broken").exists()
