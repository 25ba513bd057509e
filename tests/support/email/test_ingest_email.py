"""`manage.py ingest_email`: .eml files and mbox archives through the same path as the webhook,
one outcome line per message."""

import mailbox

import pytest
from django.core.management import CommandError

from support.models import InboundEmail, Ticket

from .conftest import FIXTURES, eml, ingest

pytestmark = pytest.mark.django_db
Outcome = InboundEmail.Outcome

# What each fixture becomes, fed in this order after Jane's ticket exists (see conftest).
EXPECTED = {
    "new_plain_known_customer.eml": Outcome.TICKET_CREATED,
    "duplicate_message_id.eml": Outcome.DUPLICATE,
    "new_contact_multipart_alternative.eml": Outcome.TICKET_CREATED,
    "html_only.eml": Outcome.TICKET_CREATED,
    "inline_image_and_pdf.eml": Outcome.TICKET_CREATED,
    "forwarded_gmail.eml": Outcome.TICKET_CREATED,
    "forwarded_as_attachment_outlook.eml": Outcome.TICKET_CREATED,
    "iso_8859_1.eml": Outcome.TICKET_CREATED,
    "windows_1252_8bit.eml": Outcome.TICKET_CREATED,
    "shift_jis.eml": Outcome.TICKET_CREATED,
    "koi8_r.eml": Outcome.TICKET_CREATED,
    "outlook_reply.eml": Outcome.REPLY_ADDED,
    "gmail_reply_signed_address.eml": Outcome.REPLY_ADDED,
    "apple_mail_reply.eml": Outcome.REPLY_ADDED,
    "reply_references_only.eml": Outcome.REPLY_ADDED,
    "reply_subject_number_only.eml": Outcome.REPLY_ADDED,
    "colleague_reply.eml": Outcome.REPLY_ADDED,
    "reply_subject_number_stranger.eml": Outcome.TICKET_CREATED,
    "forged_signed_address.eml": Outcome.TICKET_CREATED,
    "spoofed_agent.eml": Outcome.TICKET_CREATED,
    "refused_attachment.eml": Outcome.TICKET_CREATED,
    "out_of_office.eml": Outcome.IGNORED_AUTOREPLY,
    "bounce_dsn.eml": Outcome.IGNORED_BOUNCE,
    "mailing_list_precedence.eml": Outcome.IGNORED_AUTOREPLY,
    "own_message_id_loop.eml": Outcome.IGNORED_LOOP,
}


def _filled(tmp_path, names, ticket):
    paths = []
    for name in names:
        path = tmp_path / name
        path.write_bytes(eml(name, ticket))
        paths.append(path)
    return paths


def test_every_fixture_through_the_command(tmp_path, jane, jane_ticket, avery):
    assert set(EXPECTED) | {"reply_to_closed_ticket.eml"} == {p.name for p in FIXTURES.iterdir()}
    paths = _filled(tmp_path, EXPECTED, jane_ticket)

    lines = ingest(*paths).splitlines()

    assert len(lines) == len(EXPECTED)
    for path, line in zip(paths, lines, strict=True):
        assert line.startswith(f"{path}: {EXPECTED[path.name]} "), line
    records = InboundEmail.objects.all()
    assert records.count() == len(EXPECTED) - 1  # the duplicate is the first mail's record
    assert jane_ticket.messages.count() == 6
    created = [o for o in EXPECTED.values() if o == Outcome.TICKET_CREATED]
    assert Ticket.objects.count() == 1 + len(created)


def test_a_line_names_the_ticket_and_the_message_id(tmp_path, jane):
    [path] = _filled(tmp_path, ["new_plain_known_customer.eml"], None)

    [line] = ingest(path).splitlines()

    ticket = Ticket.objects.get()
    assert line.startswith(
        f"{path}: ticket_created {ticket.number} <CAF3x7q+1a2b3c4d5e6f@mail.acme-corp.com>"
    )


def test_an_mbox_archive_is_read_message_by_message(tmp_path, jane, jane_ticket):
    archive_path = tmp_path / "support.mbox"
    archive = mailbox.mbox(archive_path)
    for name in ("new_plain_known_customer.eml", "duplicate_message_id.eml", "out_of_office.eml"):
        archive.add(mailbox.mboxMessage(eml(name, jane_ticket)))
    archive.flush()
    archive.close()

    lines = ingest(archive_path).splitlines()

    assert [line.split(" ")[1] for line in lines] == [
        Outcome.TICKET_CREATED,
        Outcome.DUPLICATE,
        Outcome.IGNORED_AUTOREPLY,
    ]
    assert [line.split(":")[0] for line in lines] == [f"{archive_path}#{n}" for n in (1, 2, 3)]
    # Headers read from the archive are decoded like any other mail.
    ticket = Ticket.objects.exclude(pk=jane_ticket.pk).get()
    assert ticket.customer_name == "Jane Doe"


def test_an_mbox_with_encoded_headers_is_decoded(tmp_path, db):
    archive_path = tmp_path / "import.mbox"
    archive = mailbox.mbox(archive_path)
    archive.add(mailbox.mboxMessage(eml("koi8_r.eml")))
    archive.close()

    ingest(archive_path)

    assert Ticket.objects.get().subject == "Не работает экспорт отчётов"


def test_a_missing_file_is_an_error_and_nothing_is_read(tmp_path, jane):
    [path] = _filled(tmp_path, ["new_plain_known_customer.eml"], None)

    with pytest.raises(CommandError, match="Not a file"):
        ingest(path, tmp_path / "nope.eml")
    assert not InboundEmail.objects.exists()
