"""Conversation: public replies, internal notes, read receipts, and the reply rules."""

from django.db import transaction
from django.utils import timezone

from core.attachments import stored_uploads
from core.errors import DomainError
from core.models import User
from core.roles import is_staff_member
from core.sanitize import html_to_text, sanitize_html

from .. import events, notifications, permissions, sla
from ..models import Attachment, MessageRecipient, Ticket, TicketLink, TicketMessage
from ..models.choices import FINAL_STATUSES, LinkKind, SenderType, Status
from .articles import link_articles_in_reply
from .common import lock_ticket

Kind = events.Kind
MAX_ATTACHMENTS_PER_MESSAGE = 10
ATTACHMENT_BUCKET = "support-attachments"


def add_message(
    *,
    ticket: Ticket,
    by: User | None,
    body: str,
    internal: bool = False,
    attachments=(),
    sender_type: str | None = None,
    email_message_id: str = "",
) -> TicketMessage:
    """Add a reply or note and apply the reply rules; returns the message written.

    - Staff replies: the first public one stops the first-response clock; notes never reach
      the customer. Customers cannot write notes.
    - Customer replies: waiting on customer → in progress; resolved → reopened (in progress);
      closed or cancelled → a new ticket linked to this one receives the message.
    Attachments are validated by content and stored before the ticket row is locked (a slow
    upload never holds the lock); the rows are then written in one short transaction, and if
    it fails the stored files are deleted at once (`core.attachments.stored_uploads`).
    """
    staff = by is not None and is_staff_member(by)
    sender_type = sender_type or (SenderType.AGENT if staff else SenderType.CUSTOMER)
    if internal:
        permissions.can_write_internal_note.require(by, ticket)
    body_html = sanitize_html(body)
    body_text = html_to_text(body_html)
    if not body_text.strip() and not attachments:
        raise DomainError("A message needs some text or a file.", errors={"body": ["Required."]})
    if len(attachments) > MAX_ATTACHMENTS_PER_MESSAGE:
        raise DomainError(
            f"At most {MAX_ATTACHMENTS_PER_MESSAGE} files per message.",
            errors={"files": ["Too many files."]},
        )
    with (
        stored_uploads(attachments, bucket=ATTACHMENT_BUCKET, uploader=by) as stored,
        transaction.atomic(),
    ):
        return _write_message(
            ticket=ticket,
            by=by,
            sender_type=sender_type,
            internal=internal,
            body_html=body_html,
            body_text=body_text,
            stored=stored,
            email_message_id=email_message_id,
        )


def _write_message(
    *, ticket, by, sender_type, internal, body_html, body_text, stored, email_message_id
) -> TicketMessage:
    """The rows of `add_message`, under the ticket row lock; its files are already stored."""
    ticket = lock_ticket(ticket.pk)
    if sender_type == SenderType.CUSTOMER and ticket.status in FINAL_STATUSES:
        return _follow_up(
            ticket,
            by=by,
            body_html=body_html,
            attachments=stored,
            email_message_id=email_message_id,
        )

    now = timezone.now()
    message = TicketMessage.objects.create(
        ticket=ticket,
        author=by,
        sender_type=sender_type,
        body_html=body_html,
        body_text=body_text,
        is_internal=internal,
        email_message_id=email_message_id,
        created_at=now,
    )
    store_attachments(ticket, message, stored, by=by)
    fields = []
    if not internal:
        # Customers see last activity and updated-at: an internal note moves neither, or its
        # time would tell them one was written. Staff see notes in the thread and the events.
        ticket.last_message_at = now
        fields.append("last_message_at")
    if sender_type == SenderType.CUSTOMER:
        ticket.customer_last_reply_at = now
        fields.append("customer_last_reply_at")
        if ticket.status in (Status.WAITING_ON_CUSTOMER, Status.RESOLVED):
            note = "Reopened by the customer's reply." if ticket.status == Status.RESOLVED else ""
            from .tickets import _apply_status

            fields += _apply_status(ticket, to=Status.IN_PROGRESS, by=by, note=note, at=now)
    elif sender_type == SenderType.AGENT and not internal and ticket.first_responded_at is None:
        fields += sla.record_first_response(ticket, at=now)
    if fields:
        ticket.save(update_fields=[*dict.fromkeys(fields), "updated_at"])
    _address(message, ticket=ticket, author=by, at=now)
    events.record(
        ticket=ticket,
        kind=Kind.NOTE_ADDED if internal else Kind.REPLIED,
        actor=by,
        after={"message": message.pk, "attachments": len(stored)},
    )
    if sender_type == SenderType.AGENT and not internal:
        # The articles the reply sent are the ticket's ("Insert in reply" or a pasted link).
        link_articles_in_reply(message)
    if not internal and sender_type in (SenderType.AGENT, SenderType.AI_BOT, SenderType.SYSTEM):
        notifications.public_reply_added(message)
    elif sender_type == SenderType.CUSTOMER:
        notifications.customer_replied(message)
    return message


def store_attachments(ticket: Ticket, message: TicketMessage | None, stored, *, by) -> None:
    """The Attachment rows (and events) of files `stored_uploads` has already stored; without a
    message they are the files of the request itself."""
    for item in stored:
        checked = item.upload
        attachment = Attachment(
            ticket=ticket,
            message=message,
            uploaded_by=by if by is not None and by.is_authenticated else None,
            storage_key=item.name,
            file=item.name,
            original_name=checked.safe_name,
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
        )
        attachment.save()
        events.record(
            ticket=ticket,
            kind=Kind.ATTACHMENT_ADDED,
            actor=by,
            after={"attachment": attachment.pk, "name": attachment.original_name},
        )


def _address(message: TicketMessage, *, ticket: Ticket, author, at) -> None:
    """Recipients for read receipts: the customer for public staff replies, the assignee else."""
    recipients = set()
    if message.is_internal or message.sender_type == SenderType.CUSTOMER:
        if ticket.assigned_to_id:
            recipients.add(ticket.assigned_to_id)
    elif ticket.customer_id:
        recipients.add(ticket.customer_id)
    if author is not None:
        recipients.discard(author.pk)
    MessageRecipient.objects.bulk_create(
        MessageRecipient(message=message, ticket=ticket, recipient_id=user_id, delivered_at=at)
        for user_id in recipients
    )


def _follow_up(ticket: Ticket, *, by, body_html, attachments, email_message_id) -> TicketMessage:
    """A customer wrote to a closed ticket: the message opens a new ticket linked to it."""
    from .tickets import open_ticket

    follow_up = open_ticket(
        by=by if by is not None and by.is_authenticated else None,
        subject=f"Re: {ticket.subject}"[:200],
        description=f"<p>Follow-up to {ticket.number}, which was {ticket.status}.</p>",
        customer=ticket.customer,
        customer_email=ticket.customer_email,
        customer_name=ticket.customer_name,
        category=ticket.category,
        priority=ticket.priority,
        channel=ticket.channel,
    )
    TicketLink.objects.get_or_create(source=follow_up, target=ticket, kind=LinkKind.FOLLOW_UP)
    events.record(
        ticket=ticket, kind=Kind.FOLLOW_UP_CREATED, actor=by, after={"follow_up": follow_up.number}
    )
    now = timezone.now()
    message = TicketMessage.objects.create(
        ticket=follow_up,
        author=by,
        sender_type=SenderType.CUSTOMER,
        body_html=body_html,
        body_text=html_to_text(body_html),
        email_message_id=email_message_id,
        created_at=now,
    )
    store_attachments(follow_up, message, attachments, by=by)
    _address(message, ticket=follow_up, author=by, at=now)
    return message


def mark_ticket_read(*, ticket: Ticket, user: User) -> int:
    """Read receipts: everything addressed to `user` on this ticket is now read."""
    return MessageRecipient.objects.filter(
        ticket=ticket, recipient=user, read_at__isnull=True
    ).update(read_at=timezone.now())
