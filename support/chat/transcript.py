"""A chat's transcript, as text and as HTML: what the visitor saw (no whispers) or, for staff,
everything. Downloaded from the desk and the widget, and e-mailed to the visitor at the end."""

import datetime as dt

from django.template.loader import render_to_string
from django.utils import timezone

from ..models.choices import SenderType
from .models import ASSISTANT_NAME, ChatMessage, ChatSession


def _lines(session: ChatSession, *, staff: bool):
    messages = ChatMessage.objects.filter(session=session).select_related("author").order_by("seq")
    if not staff:
        messages = messages.filter(is_internal=False)
    for m in messages:
        if m.sender_type == SenderType.CUSTOMER:
            who = session.visitor_name or "You" if not staff else session.display_name
        elif m.sender_type == SenderType.SYSTEM:
            who = ""
        elif m.sender_type == SenderType.AI_BOT:
            who = ASSISTANT_NAME
        else:
            who = m.author.display_name if m.author_id else "Support"
        yield {"message": m, "who": who, "internal": m.is_internal}


def as_text(session: ChatSession, *, staff: bool = False) -> str:
    start = timezone.localtime(session.started_at, dt.UTC)
    out = [f"Chat with support, {start:%Y-%m-%d %H:%M} UTC", ""]
    for line in _lines(session, staff=staff):
        m = line["message"]
        at = timezone.localtime(m.created_at, dt.UTC)
        prefix = f"[{at:%H:%M}] "
        if line["internal"]:
            prefix += "(whisper) "
        out.append(
            f"{prefix}{line['who']}: {m.body_text}" if line["who"] else f"{prefix}{m.body_text}"
        )
    if session.ticket_id:
        out += ["", f"Continued as ticket {session.ticket.number}."]
    return "\n".join(out) + "\n"


def as_html(session: ChatSession, *, staff: bool = False) -> str:
    return render_to_string(
        "support/chat/email/transcript.html",  # a document of its own: e-mailed and downloaded
        {"session": session, "lines": list(_lines(session, staff=staff)), "staff": staff},
    )


def email_to_visitor(session: ChatSession) -> None:
    """The transcript to the visitor's address, once per session (an outbox row, sent after
    commit by the outbox's worker)."""
    from core.notifications.services import notify_email

    if not session.visitor_email:
        return
    notify_email(
        key=f"chat:{session.pk}:transcript",
        to=session.visitor_email,
        subject="Your chat with support",
        body=as_text(session),
        html_body=as_html(session),
        user=session.customer,
    )
