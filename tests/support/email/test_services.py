"""Inbound mail through `receive`: which ticket a mail lands on, what the agent reads, what is
never let in. Each test feeds one or more of the `.eml` fixtures."""

import pytest
from django.db import transaction

from core.models import OutboxMessage
from support import services
from support.inbound.parse import message_from_bytes
from support.inbound.services import receive
from support.models import Attachment, InboundEmail, Ticket, TicketLink, TicketMessage
from support.models.choices import Channel, LinkKind, SenderType, Status
from tests.concurrency import assert_outcomes, run_concurrently

from .conftest import eml, feed

pytestmark = pytest.mark.django_db
Outcome = InboundEmail.Outcome


# --- new mail ------------------------------------------------------------------------------------


def test_mail_from_a_known_customer_opens_an_email_ticket_on_their_account(jane):
    record = feed(eml("new_plain_known_customer.eml"))

    assert record.outcome == Outcome.TICKET_CREATED
    ticket = record.ticket
    assert (ticket.customer, ticket.customer_email, ticket.channel) == (
        jane,
        "jane.doe@acme-corp.com",
        Channel.EMAIL,
    )
    assert ticket.organization == jane.organization
    assert ticket.subject == "CSV export stops at 10,000 rows"
    assert "stops after exactly" in ticket.description_text
    # The signature below "--" is trimmed from what is shown; the original keeps it.
    assert "Head of Finance" not in ticket.description_text
    assert "Head of Finance" in record.original_text
    assert b"DKIM-Signature" in bytes(InboundEmail.objects.get(pk=record.pk).raw_message)
    # The customer hears that the request arrived, threaded for their replies.
    assert OutboxMessage.objects.filter(key=f"ticket:{ticket.pk}:created:confirmation").exists()


def test_mail_from_an_unknown_address_opens_a_ticket_for_a_new_contact(db):
    record = feed(eml("new_contact_multipart_alternative.eml"))

    ticket = record.ticket
    assert record.outcome == Outcome.TICKET_CREATED
    assert ticket.customer is None
    assert (ticket.customer_email, ticket.customer_name) == (
        "klaus@mueller-gmbh.de",
        "Klaus Müller",
    )
    # RFC 2047 subject, UTF-8 quoted-printable body; the HTML alternative is the one shown.
    assert ticket.subject == "Bestellung für März – Lieferung fehlt"
    assert "<b>Nr. 2026-0311</b>" in ticket.description
    assert "Können Sie bitte den Status prüfen?" in ticket.description_text


def test_an_html_only_mail_is_sanitised_scripts_styles_and_tracking_pixels_gone(jane):
    ticket = feed(eml("html_only.eml")).ticket

    assert "<strong>dashboard</strong>" in ticket.description
    assert 'href="https://reports.acme-corp.com/feb"' in ticket.description
    for unsafe in ("<script", "alert(", "onclick", "<style", "color: red", "<img", "tracker"):
        assert unsafe not in ticket.description
    assert "it shows 1,204" in ticket.description_text


@pytest.mark.parametrize(
    ("fixture", "subject", "text"),
    [
        ("iso_8859_1.eml", "Frage zur Rechnung - Grüße aus Köln", "über 1.250,00 € ist doppelt"),
        ("windows_1252_8bit.eml", "Problème d’accès au compte", "Le message « Accès refusé »"),
        ("shift_jis.eml", "請求書の件について", "請求書の金額が見積書と異なっています。"),
        ("koi8_r.eml", "Не работает экспорт отчётов", "Экспорт отчётов в PDF не работает"),
    ],
)
def test_non_utf8_bodies_and_encoded_subjects_arrive_readable(db, fixture, subject, text):
    ticket = feed(eml(fixture)).ticket

    assert ticket.subject == subject
    assert text in ticket.description_text


def test_the_sender_name_is_decoded_from_its_encoded_words(db):
    assert feed(eml("shift_jis.eml")).ticket.customer_name == "山田太郎"
    assert feed(eml("koi8_r.eml")).ticket.customer_name == "Иван Петров"


# --- files ---------------------------------------------------------------------------------------


def test_inline_images_and_attachments_are_kept_as_validated_files(jane):
    record = feed(eml("inline_image_and_pdf.eml"))

    files = Attachment.objects.filter(ticket=record.ticket).order_by("original_name")
    assert [(f.original_name, f.content_type, f.message_id) for f in files] == [
        ("image001.png", "image/png", None),
        ("invoice-2026-031.pdf", "application/pdf", None),
    ]
    # The picture's place in the text is named; the <img> itself never survives the sanitiser.
    assert "[image: image001.png]" in record.ticket.description
    assert "<img" not in record.ticket.description


def test_a_refused_file_is_named_and_the_mail_is_kept_with_the_other_files(jane):
    record = feed(eml("refused_attachment.eml"))

    assert record.outcome == Outcome.TICKET_CREATED
    kept = list(
        Attachment.objects.filter(ticket=record.ticket).values_list("original_name", flat=True)
    )
    assert kept == ["install.log"]
    assert "setup.pdf" in record.ticket.description_text
    assert "Windows executable" in record.ticket.description_text
    assert "file not kept: setup.pdf" in record.reason


def test_a_mail_forwarded_as_an_attachment_keeps_it_as_an_eml_file(jane):
    record = feed(eml("forwarded_as_attachment_outlook.eml"))

    [attached] = Attachment.objects.filter(ticket=record.ticket)
    assert (attached.original_name, attached.content_type) == (
        "Contract_renewal_notice.eml",
        "message/rfc822",
    )
    assert "Is this renewal notice genuine?" in record.ticket.description_text
    # The attached mail's own body is not mistaken for the sender's text.
    assert "Reply to cancel" not in record.ticket.description_text


def test_a_reply_with_a_file_adds_it_to_the_message(jane, jane_ticket):
    raw = eml("inline_image_and_pdf.eml").replace(
        b"Subject: Error dialog",
        b"Subject: Re: [" + jane_ticket.number.encode() + b"] Error dialog",
    )
    record = feed(raw)

    assert record.outcome == Outcome.REPLY_ADDED
    names = set(record.message.attachments.values_list("original_name", flat=True))
    assert names == {"image001.png", "invoice-2026-031.pdf"}


# --- forwards and trimming -----------------------------------------------------------------------


def test_a_forwarded_mail_is_shown_whole(jane):
    ticket = feed(eml("forwarded_gmail.eml")).ticket

    assert "we got this but the card is valid" in ticket.description_text
    assert "could not be processed (reason code 05)" in ticket.description_text
    assert ticket.subject == "Fwd: Your payment could not be processed"


# --- replies: how the ticket is found ------------------------------------------------------------


def test_a_gmail_reply_to_the_signed_address_is_a_message_on_that_ticket(jane, jane_ticket):
    record = feed(eml("gmail_reply_signed_address.eml", jane_ticket))

    assert record.outcome == Outcome.REPLY_ADDED
    message = record.message
    assert message.ticket == jane_ticket
    assert (message.sender_type, message.author) == (SenderType.CUSTOMER, jane)
    assert message.email_message_id == "<CAF3x7q+gmailreply0042@mail.gmail.com>"
    assert "R-2026-02-77" in message.body_text
    assert "Could you send us the ID" not in message.body_text
    assert "wrote:" not in message.body_text
    assert "signed reply address" in record.reason


def test_an_outlook_reply_is_threaded_by_in_reply_to_and_loses_its_quoted_block(jane, jane_ticket):
    record = feed(eml("outlook_reply.eml", jane_ticket))

    assert record.outcome == Outcome.REPLY_ADDED
    assert record.message.ticket == jane_ticket
    text = record.message.body_text
    assert "the export works again with the new limit" in text
    for quoted in ("We raised the export limit", "Sent:", "From:"):
        assert quoted not in text
    assert "We raised the export limit" in record.original_text


def test_an_apple_mail_reply_loses_its_cited_block(jane, jane_ticket):
    message = feed(eml("apple_mail_reply.eml", jane_ticket)).message

    assert message.ticket == jane_ticket
    assert "It happens again with the quarterly report." in message.body_text
    assert "Is the problem solved" not in message.body_text
    assert "wrote:" not in message.body_text


def test_a_reply_found_by_references_only_loses_quote_and_signature(jane, jane_ticket):
    record = feed(eml("reply_references_only.eml", jane_ticket))

    assert record.message.ticket == jane_ticket
    assert record.message.body_text == (
        "Sorry, one more thing: the export also drops the last column."
    )
    assert "thread reference" in record.reason


def test_a_reply_found_by_the_number_in_the_subject_from_the_customer(jane, jane_ticket):
    record = feed(eml("reply_subject_number_only.eml", jane_ticket))

    assert record.outcome == Outcome.REPLY_ADDED
    assert record.message.ticket == jane_ticket
    assert record.message.body_text == "Any news on this?"  # "Sent from my iPhone" trimmed


def test_a_reply_to_the_ticket_that_opened_by_mail_finds_it_by_its_message_id(jane):
    first = feed(eml("new_plain_known_customer.eml"))
    raw = eml("reply_references_only.eml", THREAD_ID=first.email_message_id)
    assert feed(raw).message.ticket == first.ticket


def test_the_number_in_the_subject_from_someone_else_opens_their_own_ticket(jane, jane_ticket):
    record = feed(eml("reply_subject_number_stranger.eml", jane_ticket))

    assert record.outcome == Outcome.TICKET_CREATED
    assert record.ticket != jane_ticket
    assert record.ticket.customer_email == "mallory@evil.example"
    assert not jane_ticket.messages.exists()
    # Nothing about Jane's ticket reaches the stranger: their confirmation is about their own.
    [confirmation] = OutboxMessage.objects.filter(recipient="mallory@evil.example")
    assert record.ticket.number in confirmation.subject
    assert "The export stops." not in confirmation.body + confirmation.html_body


def test_a_forged_signed_address_matches_nothing(jane, jane_ticket):
    record = feed(eml("forged_signed_address.eml", jane_ticket))

    assert record.outcome == Outcome.TICKET_CREATED
    assert record.ticket != jane_ticket
    assert record.ticket.customer_email == "mallory@evil.example"
    assert not jane_ticket.messages.exists()


def test_a_valid_signed_address_used_by_a_stranger_opens_their_own_ticket(jane, jane_ticket):
    raw = eml("gmail_reply_signed_address.eml", jane_ticket).replace(
        b"From: Jane Doe <jane.doe@acme-corp.com>", b"From: Eve <eve@elsewhere.example>"
    )
    record = feed(raw)

    assert record.outcome == Outcome.TICKET_CREATED
    assert record.ticket.customer_email == "eve@elsewhere.example"
    assert not jane_ticket.messages.exists()
    assert f"matched {jane_ticket.number} by signed reply address, but" in record.reason


def test_a_colleague_of_the_same_organisation_may_answer_on_the_thread(jane, jane_ticket):
    record = feed(eml("colleague_reply.eml", jane_ticket))

    assert record.outcome == Outcome.REPLY_ADDED
    message = record.message
    assert (message.ticket, message.sender_type, message.author) == (
        jane_ticket,
        SenderType.CUSTOMER,
        None,
    )


def test_a_reply_to_a_closed_ticket_opens_a_linked_follow_up(jane, jane_ticket, agent):
    services.resolve_ticket(ticket=jane_ticket, by=agent)
    services.close_ticket(ticket=jane_ticket, by=agent)

    record = feed(eml("reply_to_closed_ticket.eml", jane_ticket))

    assert record.outcome == Outcome.FOLLOW_UP
    follow_up = record.ticket
    assert follow_up != jane_ticket and follow_up.customer == jane
    assert TicketLink.objects.filter(source=follow_up, target=jane_ticket, kind=LinkKind.FOLLOW_UP)
    assert record.message.ticket == follow_up
    assert (
        record.message.body_text
        == "The problem is back since this morning, the export stops again."
    )


def test_a_reply_reopens_a_resolved_ticket(jane, jane_ticket, agent):
    services.resolve_ticket(ticket=jane_ticket, by=agent)

    feed(eml("gmail_reply_signed_address.eml", jane_ticket))

    jane_ticket.refresh_from_db()
    assert jane_ticket.status == Status.IN_PROGRESS


def test_mail_for_a_merged_ticket_lands_where_the_conversation_went(jane, jane_ticket, lead):
    target = services.create_ticket(by=jane, subject="Export problems", channel=Channel.EMAIL)
    services.merge_tickets(source=jane_ticket, target=target, by=lead)

    assert feed(eml("gmail_reply_signed_address.eml", jane_ticket)).message.ticket == target


# --- a staff address in From ---------------------------------------------------------------------


def test_mail_wearing_an_agents_address_is_never_an_agent_reply(jane, jane_ticket, avery):
    record = feed(eml("spoofed_agent.eml", jane_ticket))

    # Not on Jane's ticket, not as the agent: a ticket of its own, from nobody's account.
    assert record.outcome == Outcome.TICKET_CREATED
    spoof = record.ticket
    assert spoof != jane_ticket
    assert (spoof.customer, spoof.customer_email) == (None, "avery.agent@ourcompany.com")
    assert not TicketMessage.objects.filter(sender_type=SenderType.AGENT).exists()
    assert not TicketMessage.objects.filter(author=avery).exists()
    jane_ticket.refresh_from_db()
    assert not jane_ticket.messages.exists()
    assert jane_ticket.first_responded_at is None
    to_jane = OutboxMessage.objects.filter(recipient=jane.email).values_list("body", flat=True)
    assert not [body for body in to_jane if "bank" in body]
    assert "staff member's address" in record.reason


def test_an_agent_address_on_their_own_ticket_writes_as_a_customer_side_message(avery):
    own = services.create_ticket(
        by=None, customer_email=avery.email, subject="My laptop", channel=Channel.EMAIL
    )
    raw = eml("spoofed_agent.eml", own)

    message = feed(raw).message

    assert (message.ticket, message.sender_type, message.author) == (own, SenderType.CUSTOMER, None)
    own.refresh_from_db()
    assert own.first_responded_at is None


# --- never tickets: automatic mail, bounces, loops, floods ---------------------------------------


@pytest.mark.parametrize(
    ("fixture", "outcome", "reason"),
    [
        ("out_of_office.eml", Outcome.IGNORED_AUTOREPLY, "Auto-Submitted: auto-replied"),
        ("bounce_dsn.eml", Outcome.IGNORED_BOUNCE, "delivery-status"),
        ("mailing_list_precedence.eml", Outcome.IGNORED_AUTOREPLY, "Precedence: list"),
        ("own_message_id_loop.eml", Outcome.IGNORED_LOOP, "is one of ours"),
    ],
)
def test_automatic_mail_never_opens_tickets_or_adds_replies(
    jane, jane_ticket, fixture, outcome, reason
):
    tickets = Ticket.objects.count()

    record = feed(eml(fixture, jane_ticket))

    assert (record.outcome, record.ticket, record.message) == (outcome, None, None)
    assert reason in record.reason
    assert Ticket.objects.count() == tickets
    assert not TicketMessage.objects.exists()
    assert InboundEmail.objects.filter(pk=record.pk, outcome=outcome).exists()


@pytest.mark.parametrize(
    ("header", "outcome"),
    [
        ("Auto-Submitted: auto-generated", Outcome.IGNORED_AUTOREPLY),
        ("Precedence: bulk", Outcome.IGNORED_AUTOREPLY),
        ("Precedence: junk", Outcome.IGNORED_AUTOREPLY),
        ("X-Autoreply: yes", Outcome.IGNORED_AUTOREPLY),
        ("X-Autorespond: vacation", Outcome.IGNORED_AUTOREPLY),
        ("Return-Path: <>", Outcome.IGNORED_BOUNCE),
    ],
)
def test_each_automatic_marker_is_recognised(jane, header, outcome):
    raw = eml("new_plain_known_customer.eml").replace(
        b"Return-Path: <jane.doe@acme-corp.com>\n", header.encode() + b"\n"
    )
    assert feed(raw).outcome == outcome
    assert not Ticket.objects.exists()


def test_auto_submitted_no_is_a_persons_mail(jane):
    raw = eml("new_plain_known_customer.eml").replace(
        b"MIME-Version", b"Auto-Submitted: no\nMIME-Version"
    )
    assert feed(raw).outcome == Outcome.TICKET_CREATED


def test_a_sender_over_the_hourly_cap_is_kept_on_record_but_opens_nothing(jane, settings):
    settings.INBOUND_EMAIL_MAX_PER_SENDER_PER_HOUR = 2
    base = eml("new_plain_known_customer.eml")
    outcomes = [feed(base.replace(b"1a2b3c4d5e6f", f"flood{n}".encode())).outcome for n in range(4)]

    assert outcomes == [Outcome.TICKET_CREATED] * 2 + [Outcome.RATE_LIMITED] * 2
    assert Ticket.objects.count() == 2
    assert InboundEmail.objects.filter(outcome=Outcome.RATE_LIMITED).count() == 2


# --- the same mail twice -------------------------------------------------------------------------


def test_the_same_message_id_twice_is_one_ticket(jane):
    first = feed(eml("new_plain_known_customer.eml"))
    again = feed(eml("duplicate_message_id.eml"))

    assert again.outcome == Outcome.DUPLICATE
    assert again.pk is None and again.ticket == first.ticket
    assert Ticket.objects.count() == 1
    assert InboundEmail.objects.count() == 1


def test_the_same_reply_twice_is_one_message(jane, jane_ticket):
    raw = eml("gmail_reply_signed_address.eml", jane_ticket)
    first, again = feed(raw), feed(raw)

    assert again.outcome == Outcome.DUPLICATE and again.message == first.message
    assert jane_ticket.messages.count() == 1


def test_a_mail_without_message_id_imported_twice_is_still_one(jane):
    raw = eml("new_plain_known_customer.eml").replace(
        b"Message-ID: <CAF3x7q+1a2b3c4d5e6f@mail.acme-corp.com>\n", b""
    )
    first, again = feed(raw), feed(raw)

    assert first.email_message_id.endswith("@inbound.invalid>")
    assert again.outcome == Outcome.DUPLICATE
    assert Ticket.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_one_mail_at_once_make_one_ticket(jane):
    raw = eml("new_plain_known_customer.eml")

    def deliver():
        return receive(message_from_bytes(raw), raw=raw).outcome

    outcomes = assert_outcomes(run_concurrently(deliver, [(), ()]), succeeded=2)

    assert sorted(outcomes) == sorted([Outcome.TICKET_CREATED, Outcome.DUPLICATE])
    assert Ticket.objects.count() == 1
    assert InboundEmail.objects.count() == 1


def test_a_failure_while_writing_leaves_nothing_so_the_retry_finds_it_new(jane, monkeypatch):
    from support.inbound import services as inbound

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(inbound.services, "create_ticket", broken)
    with pytest.raises(RuntimeError):
        feed(eml("new_plain_known_customer.eml"))
    assert not InboundEmail.objects.exists()

    monkeypatch.undo()
    assert feed(eml("new_plain_known_customer.eml")).outcome == Outcome.TICKET_CREATED


def test_an_empty_reply_is_rejected_on_record(jane, jane_ticket):
    raw = eml("reply_subject_number_only.eml", jane_ticket).replace(
        b"Any news on this?\n\nSent from my iPhone\n", b"\n"
    )
    record = feed(raw)

    assert record.outcome == Outcome.REJECTED
    assert "needs some text" in record.reason
    assert not jane_ticket.messages.exists()


def test_on_commit_notifications_wait_for_the_whole_mail(jane):
    with transaction.atomic():
        ticket = feed(eml("new_plain_known_customer.eml")).ticket
    assert OutboxMessage.objects.filter(key=f"ticket:{ticket.pk}:created:confirmation").exists()


def test_over_the_daily_upload_quota_the_mail_is_kept_without_its_files(jane, settings):
    settings.ATTACHMENT_DAILY_QUOTA_BYTES = 100  # the PNG and the PDF are 194 bytes together

    record = feed(eml("inline_image_and_pdf.eml"))

    assert record.outcome == Outcome.TICKET_CREATED
    assert not Attachment.objects.exists()
    assert "file not kept: image001.png" in record.reason
    assert "invoice-2026-031.pdf" in record.ticket.description_text


def test_files_beyond_the_per_message_cap_are_named_not_kept(jane):
    from email.message import EmailMessage

    mail = EmailMessage()
    mail["From"], mail["To"] = "Jane Doe <jane.doe@acme-corp.com>", "help@support.example.com"
    mail["Subject"], mail["Message-ID"] = "Twelve logs", "<twelve-logs@acme-corp.com>"
    mail.set_content("All the logs of the night.")
    for n in range(1, 13):
        mail.add_attachment(f"line {n}\n".encode(), "text", "plain", filename=f"night-{n:02}.log")
    raw = bytes(mail)

    record = feed(raw)

    kept = Attachment.objects.filter(ticket=record.ticket).values_list("original_name", flat=True)
    assert sorted(kept) == [f"night-{n:02}.log" for n in range(1, 11)]
    assert "night-11.log: more than 10 files" in record.ticket.description_text
