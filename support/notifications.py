"""What support tells whom. Every message is an outbox row keyed by the effect that causes it.

Customers hear about public things only (creation, public replies, resolution); internal notes
never produce a customer message.
"""

from django.conf import settings
from django.core import signing
from django.template.loader import render_to_string
from django.urls import reverse

from core.notifications.services import notify_email, notify_in_app

from .models import Ticket, TicketMessage

REPLY_SIGNER_SALT = "support.reply-to"


def thread_message_id(ticket: Ticket, message: TicketMessage | None = None) -> str:
    suffix = f"msg-{message.pk}" if message else "created"
    return f"<{ticket.number.lower()}.{suffix}@{settings.SUPPORT_REPLY_DOMAIN}>"


def reply_to_address(ticket: Ticket) -> str:
    """`reply+<signed ticket id>@domain`: answers thread back to this ticket and no other."""
    token = signing.Signer(salt=REPLY_SIGNER_SALT).sign(str(ticket.pk)).replace(":", ".")
    return f"reply+{token}@{settings.SUPPORT_REPLY_DOMAIN}"


def ticket_id_from_reply_address(address: str) -> int | None:
    local = address.split("@", 1)[0]
    if not local.startswith("reply+"):
        return None
    token = local[len("reply+") :]
    value, _, signature = token.rpartition(".")
    try:
        return int(signing.Signer(salt=REPLY_SIGNER_SALT).unsign(f"{value}:{signature}"))
    except (signing.BadSignature, ValueError):
        return None


def _ticket_url(ticket: Ticket, *, for_staff: bool) -> str:
    name = "desk-ticket" if for_staff else "help-ticket"
    return settings.SITE_URL + reverse(name, args=[ticket.number])


def _thread_headers(ticket: Ticket, message: TicketMessage | None) -> dict:
    root = thread_message_id(ticket)
    headers = {"Message-ID": thread_message_id(ticket, message)}
    if message is not None:
        headers.update({"In-Reply-To": root, "References": root})
    return headers


def _email_customer(
    *,
    key: str,
    ticket: Ticket,
    subject: str,
    template: str,
    context: dict,
    message: TicketMessage | None = None,
) -> None:
    context = {"ticket": ticket, "ticket_url": _ticket_url(ticket, for_staff=False), **context}
    notify_email(
        key=key,
        to=ticket.customer_email,
        subject=f"[{ticket.number}] {subject}",
        body=render_to_string(f"support/email/{template}.txt", context),
        html_body=render_to_string(f"support/email/{template}.html", context),
        user=ticket.customer,
        headers=_thread_headers(ticket, message),
        reply_to=reply_to_address(ticket),
    )


def ticket_created(ticket: Ticket) -> None:
    _email_customer(
        key=f"ticket:{ticket.pk}:created:confirmation",
        ticket=ticket,
        subject=f"We received your request: {ticket.subject}",
        template="ticket_created",
        context={},
    )


def public_reply_added(message: TicketMessage) -> None:
    """A staff member's public reply goes to the customer; never called for notes."""
    assert not message.is_internal, "internal notes are never sent to customers"
    ticket = message.ticket
    _email_customer(
        key=f"ticket:{ticket.pk}:message:{message.pk}:customer-email",
        ticket=ticket,
        subject=ticket.subject,
        template="agent_reply",
        context={"message": message},
        message=message,
    )


def customer_replied(message: TicketMessage) -> None:
    ticket = message.ticket
    if ticket.assigned_to_id is None:
        return
    notify_in_app(
        key=f"ticket:{ticket.pk}:message:{message.pk}:assignee",
        user=ticket.assigned_to,
        title=f"{ticket.number}: new reply from {ticket.customer_name or ticket.customer_email}",
        body=message.body_text[:300],
        url=reverse("desk-ticket", args=[ticket.number]),
    )


def ticket_assigned(ticket: Ticket, *, assignment_id: int, note: str = "") -> None:
    agent = ticket.assigned_to
    url = reverse("desk-ticket", args=[ticket.number])
    title = f"{ticket.number} was assigned to you: {ticket.subject}"
    notify_in_app(
        key=f"ticket:{ticket.pk}:assigned:{assignment_id}:in-app",
        user=agent,
        title=title,
        body=note,
        url=url,
    )
    notify_email(
        key=f"ticket:{ticket.pk}:assigned:{assignment_id}:email",
        to=agent.email,
        subject=f"[{ticket.number}] assigned to you: {ticket.subject}",
        body=render_to_string(
            "support/email/assigned.txt",
            {"ticket": ticket, "note": note, "ticket_url": settings.SITE_URL + url},
        ),
        user=agent,
    )


def ticket_resolved(ticket: Ticket, *, resolution_id: int) -> None:
    _email_customer(
        key=f"ticket:{ticket.pk}:resolved:{resolution_id}:customer-email",
        ticket=ticket,
        subject=f"Resolved: {ticket.subject}",
        template="resolved",
        context={
            "rate_url": _ticket_url(ticket, for_staff=False) + "#rate",
            "auto_close_days": settings.TICKET_AUTO_CLOSE_DAYS,
        },
    )
