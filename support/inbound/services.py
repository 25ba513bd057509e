"""`receive`: one inbound mail becomes a ticket, a reply on the right ticket, or a record of why
it became neither. The ESP's webhook and the `ingest_email` command both come here.

Matching, in this order (the first that names a ticket wins):

1. a valid signed reply address (`reply+<signed ticket id>@SUPPORT_REPLY_DOMAIN`) among the
   recipients: To, Cc, Delivered-To, X-Original-To and the envelope;
2. In-Reply-To, then References (newest first), naming one of our Message-IDs
   (`<tkt-…​.created|msg-N@SUPPORT_REPLY_DOMAIN>`), a stored message's Message-ID, or the
   Message-ID of the mail that opened a ticket;
3. a ticket number in the subject, and only when the sender is that ticket's customer address.

Who may write on the ticket found: its customer (by address or account), or a customer of the
same organisation (a colleague in the thread). Anyone else, staff addresses included, gets a
ticket of their own: a subject line or a guessed Message-ID never lets one customer write on (or
hear about) another's ticket. Mail is never an agent reply: a staff member's address in From
proves nothing (anyone can write it), so such mail is customer-side (no author, sender type
customer): it stops no SLA clock and is not sent to the customer as an agent's answer.
"""

import functools
import hashlib
import logging
import re

from django.db import IntegrityError, transaction

from core.attachments import AttachmentRejected, validate_upload
from core.errors import DomainError
from core.models import User
from core.roles import is_staff_member
from core.sanitize import html_to_text, sanitize_html, text_to_html

from .. import services
from ..models import InboundEmail, Ticket, TicketMessage
from ..models.choices import Channel, SenderType
from ..notifications import ticket_id_from_reply_address
from ..services.messages import MAX_ATTACHMENTS_PER_MESSAGE
from . import loops
from .parse import ParsedEmail, message_bytes, parse_email
from .trim import is_forward, trim_html, trim_text

logger = logging.getLogger(__name__)
Outcome = InboundEmail.Outcome

_SUBJECT_NUMBER = re.compile(r"\b(TKT-\d{8}-\d{4,})\b", re.IGNORECASE)
MAX_MERGE_HOPS = 5
NO_SUBJECT = "(no subject)"


def receive(message, *, raw: bytes | None = None, envelope_recipients=()) -> InboundEmail:
    """Handle one mail (an `email.message.Message`); returns its `InboundEmail` record.

    Guarantees: the same Message-ID twice is one mail, also when both deliveries run at once
    (the record's unique Message-ID: the second waits for the first's transaction, then finds
    it); the returned record of a repeated delivery is unsaved, with outcome `duplicate` and
    the first delivery's ticket and message. A mail without a Message-ID gets one derived from
    its bytes, so the same file imported twice is still one. Everything the mail causes (ticket,
    message, files' rows, the record) commits together; an unexpected error leaves nothing, so
    the ESP's retry finds the mail new. Notifications go out after the commit, as always.
    """
    raw = raw if raw is not None else message_bytes(message)
    parsed = parse_email(message, envelope_recipients=envelope_recipients)
    message_id = (parsed.message_id or _derived_message_id(raw))[:300]
    record = InboundEmail(
        email_message_id=message_id,
        sender=parsed.sender[:254],
        sender_name=parsed.sender_name[:200],
        recipients=parsed.recipients,
        subject=parsed.subject[:300],
        original_text=parsed.text,
        raw_message=raw,
        outcome=Outcome.REJECTED,
    )
    first = InboundEmail.objects.filter(email_message_id=message_id).first()
    if first is not None:
        return _repeated(record, first)
    try:
        with transaction.atomic():
            record.save()  # a concurrent delivery of the same Message-ID waits here
            _handle(record, parsed)
            record.save(update_fields=["outcome", "reason", "ticket", "message"])
    except IntegrityError:
        first = InboundEmail.objects.filter(email_message_id=message_id).first()
        if first is None:
            raise
        return _repeated(record, first)
    logger.info("inbound mail %s from %s: %s", message_id, record.sender, record.outcome)
    return record


def _derived_message_id(raw: bytes) -> str:
    return f"<{hashlib.sha256(raw).hexdigest()}@inbound.invalid>"


def _repeated(record: InboundEmail, first: InboundEmail) -> InboundEmail:
    record.outcome = Outcome.DUPLICATE
    received = f"{first.received_at:%Y-%m-%d %H:%M:%S} UTC"
    record.reason = f"already received at {received} ({first.outcome})"
    record.ticket, record.message = first.ticket, first.message
    return record


def _handle(record: InboundEmail, parsed: ParsedEmail) -> None:
    """Decide and write; sets the record's outcome, reason, ticket and message."""
    existing = TicketMessage.objects.filter(email_message_id=record.email_message_id).first()
    if existing is not None:
        record.outcome, record.message = Outcome.DUPLICATE, existing
        record.ticket_id = existing.ticket_id
        record.reason = "a message with this Message-ID is already on the ticket"
        return
    verdict = loops.automatic_mail(parsed)
    if verdict is None and not parsed.sender:
        verdict = loops.Verdict(Outcome.REJECTED, "no sender address")
    verdict = verdict or loops.over_rate_cap(parsed)
    if verdict is not None:
        record.outcome, record.reason = verdict.outcome, verdict.reason
        return

    notes = []
    sender_user = User.objects.with_email(parsed.sender).select_related("organization").first()
    staff_sender = sender_user is not None and is_staff_member(sender_user)
    if staff_sender:
        notes.append("sent from a staff member's address: handled as an outside sender")
    ticket, how = _matching_ticket(parsed)
    if ticket is not None and not _may_write_on(ticket, parsed.sender, sender_user, staff_sender):
        notes.append(f"matched {ticket.number} by {how}, but the sender is not its customer")
        ticket = None
    # A customer's own account is the author; a staff address or an unknown one is no author.
    author = sender_user if sender_user is not None and not staff_sender else None
    body = _shown_body(parsed)
    files, refused = _acceptable_files(parsed)
    write = functools.partial(_write, record, parsed, ticket=ticket, author=author, body=body)
    try:
        write(files=files, refused=refused)
    except AttachmentRejected as exc:  # the sender's daily upload quota: keep the mail, not files
        refused += [(file.name, " ".join(exc.messages)) for file in files]
        write(files=[], refused=refused)
    except DomainError as exc:
        record.outcome, record.ticket = Outcome.REJECTED, ticket
        notes.append(str(exc))
    if ticket is not None and record.outcome != Outcome.REJECTED:
        notes.insert(0, f"matched {ticket.number} by {how}")
    notes += [f"file not kept: {name} ({why})" for name, why in refused]
    record.reason = "; ".join(notes)


def _write(record, parsed, *, ticket, author, body, files, refused) -> None:
    if refused:
        items = "".join(f"<li>{_escape(name)}: {_escape(why)}</li>" for name, why in refused)
        body += f"<p><em>Files not kept:</em></p><ul>{items}</ul>"
    uploads = [file.as_upload() for file in files]
    if ticket is not None:
        message = services.add_message(
            ticket=ticket,
            by=author,
            body=body,
            attachments=uploads,
            sender_type=SenderType.CUSTOMER,
            email_message_id=record.email_message_id,
        )
        record.message = message
        record.ticket_id = message.ticket_id
        same_ticket = message.ticket_id == ticket.pk
        record.outcome = Outcome.REPLY_ADDED if same_ticket else Outcome.FOLLOW_UP
        return
    record.ticket = services.create_ticket(
        by=author,
        customer_email=parsed.sender,
        customer_name=parsed.sender_name,
        subject=parsed.subject or NO_SUBJECT,
        description=body,
        channel=Channel.EMAIL,
        attachments=uploads,
    )
    record.outcome = Outcome.TICKET_CREATED


def _escape(text: str) -> str:
    from html import escape

    return escape(str(text))


# --- matching ----------------------------------------------------------------------------------


def _matching_ticket(parsed: ParsedEmail) -> tuple[Ticket | None, str]:
    for address in parsed.recipients:
        local, _, domain = address.rpartition("@")
        if domain.lower() != loops.own_domain() or not local.lower().startswith("reply+"):
            continue
        ticket_id = ticket_id_from_reply_address(address)
        ticket = Ticket.objects.filter(pk=ticket_id).first() if ticket_id else None
        if ticket is not None:
            return _current(ticket), "signed reply address"
    for message_id in [*parsed.in_reply_to, *reversed(parsed.references)]:
        ticket = _ticket_of_message_id(message_id)
        if ticket is not None:
            return _current(ticket), f"thread reference {message_id}"
    for number in _SUBJECT_NUMBER.findall(parsed.subject):
        ticket = (
            Ticket.objects.with_customer_email(parsed.sender).filter(number=number.upper()).first()
        )
        if ticket is not None:
            return _current(ticket), "ticket number in the subject"
    return None, ""


def _our_thread_id() -> re.Pattern:
    domain = re.escape(loops.own_domain())
    return re.compile(rf"^<(tkt-\d{{8}}-\d+)\.(?:created|msg-\d+)@{domain}>$", re.IGNORECASE)


def _ticket_of_message_id(message_id: str) -> Ticket | None:
    ours = _our_thread_id().match(message_id)
    if ours:
        return Ticket.objects.filter(number=ours.group(1).upper()).first()
    message = TicketMessage.objects.filter(email_message_id=message_id).select_related("ticket")
    if found := message.first():
        return found.ticket
    opened = InboundEmail.objects.filter(email_message_id=message_id, ticket__isnull=False)
    if found := opened.select_related("ticket").first():
        return found.ticket
    return None


def _current(ticket: Ticket) -> Ticket:
    """A merged ticket's mail goes where the conversation went."""
    for _ in range(MAX_MERGE_HOPS):
        if ticket.merged_into_id is None:
            break
        ticket = ticket.merged_into
    return ticket


def _may_write_on(ticket: Ticket, sender: str, sender_user, staff_sender: bool) -> bool:
    """The ticket's customer, or (never a staff address) a customer of its organisation."""
    if sender == ticket.customer_email:
        return True
    if sender_user is not None and ticket.customer_id == sender_user.pk:
        return True
    if staff_sender or ticket.organization_id is None:
        return False
    if sender_user is not None:
        return sender_user.organization_id == ticket.organization_id
    domain = (ticket.organization.email_domain or "").lower()
    return bool(domain) and sender.rpartition("@")[2] == domain


# --- body and files ----------------------------------------------------------------------------


def _shown_body(parsed: ParsedEmail) -> str:
    """The HTML an agent reads: quoted history and signatures trimmed (`trim`), forwards whole."""
    if is_forward(parsed.subject, parsed.text):
        return parsed.html or text_to_html(parsed.text)
    if parsed.raw_html:
        trimmed = sanitize_html(trim_html(parsed.raw_html))
        return trimmed if html_to_text(trimmed).strip() else parsed.html
    return text_to_html(trim_text(parsed.text))


def _acceptable_files(parsed: ParsedEmail):
    """The files that pass upload validation (at most the per-message cap), and (name, why)
    for each refused one: a refused file never loses the mail."""
    accepted, refused = [], []
    for file in parsed.files:
        if len(accepted) >= MAX_ATTACHMENTS_PER_MESSAGE:
            refused.append((file.name, f"more than {MAX_ATTACHMENTS_PER_MESSAGE} files"))
            continue
        try:
            validate_upload(file.as_upload())
        except AttachmentRejected as exc:
            refused.append((file.name, " ".join(exc.messages)))
        else:
            accepted.append(file)
    return accepted, refused


# --- entry points ------------------------------------------------------------------------------


def on_anymail_inbound(sender, event, esp_name, **kwargs) -> None:
    """anymail's `inbound` signal: the ESP's webhook, already authenticated by anymail."""
    message = event.message
    envelope = [getattr(message, "envelope_recipient", None) or ""]
    record = receive(message, envelope_recipients=envelope)
    logger.info("%s inbound webhook: %s", esp_name, record.outcome)


__all__ = ["on_anymail_inbound", "receive"]
