"""The widget's assistant (`ChatWidget.bot_enabled`): it answers a new chat first and hands it to
an agent when it cannot.

A chat started on such a widget begins `with_bot`: it waits in no queue and no agent is offered
it. Each visitor message is answered by a task (`bot_reply`), outside the visitor's request, from
AI assist's `answers.answer` run as the visitor (public articles only, whatever the question
says), with links to the articles it used. It hands off, and the chat is routed like any other,
when the answer's confidence is below the threshold, when the visitor asks for a person (the
widget's button or words like "agent"), or when an answer has not come within
`CHAT_BOT_WAIT_SECONDS` (the beat checks, so a lost task never strands a visitor). An agent who
takes the chat from the console ends the bot's turn too. Tools a model asks for are recorded by
AI assist and never run here.
"""

import datetime as dt
import re

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.html import escape

from core.sanitize import sanitize_html

from ..models.choices import SenderType
from . import realtime, services
from .models import OPEN_STATUSES, ChatMessage, ChatSession, SessionStatus

GREETING = (
    "Hi! I am the assistant. Ask me anything and I will look in our help center; "
    "I will bring in a person whenever you want one."
)
HANDOFF_NOTE = {
    "asked": "Connecting you with a person…",
    "unsure": "I could not find a good answer to that. Connecting you with a person…",
    "slow": "Connecting you with a person…",
}
# A visitor asking for a person, in the words people use; the button says the same.
WANTS_PERSON = re.compile(
    r"\b(agent|human|person|someone|somebody|representative|operator|real people)\b", re.I
)


def greet(session: ChatSession) -> None:
    """The bot's first message in a chat it holds (called in the start's transaction)."""
    _say(session, GREETING, key="greeting")


def _say(session: ChatSession, text: str, *, key: str, links=()) -> ChatMessage:
    """One message from the bot. `key` makes a retried task write it once. Links are the
    articles' absolute URLs: the widget is embedded on other sites and opens them in a tab."""
    html = f"<p>{escape(text)}</p>"
    lines = [text]
    if links:
        items = "".join(
            f'<li><a href="{escape(url)}">{escape(title)}</a></li>' for title, url in links
        )
        html += f"<ul>{items}</ul>"
        lines += [""] + [f"{title}: {url}" for title, url in links]
    message, _ = services.write_bot_message(
        session,
        client_msg_id=f"bot:{key}"[:64],
        body_html=sanitize_html(html),
        body_text="\n".join(lines),
    )
    return message


def reply(message_id: int) -> ChatMessage | None:
    """Answer one visitor message, or hand the chat off; nothing once the bot's turn is over."""
    from support.assist import answers

    message = (
        ChatMessage.objects.select_related("session__widget", "session__customer")
        .filter(pk=message_id, sender_type=SenderType.CUSTOMER)
        .first()
    )
    if message is None:
        return None
    session = message.session
    if not session.with_bot or session.status not in OPEN_STATUSES:
        return None
    if WANTS_PERSON.search(message.body_text):
        hand_off(session, reason="asked")
        return None
    visitor = session.customer if session.customer_id else AnonymousUser()
    result = answers.answer(question=message.body_text, user=visitor, chat_session=session)
    if result.handoff or not result.text:
        hand_off(session, reason="unsure")
        return None
    site = settings.SITE_URL.rstrip("/")
    links = [(c["title"], site + c["url"]) for c in result.citations]
    return _say(session, result.text, key=f"answer:{message.pk}", links=links)


@transaction.atomic
def hand_off(session: ChatSession, *, reason: str) -> bool:
    """End the bot's turn: the chat joins the queue (in its original place, by start time) and is
    routed. Returns False when it was already over (a second hand-off, an agent took it)."""
    locked = ChatSession.objects.select_for_update().select_related("widget").get(pk=session.pk)
    if not locked.with_bot or locked.status != SessionStatus.QUEUED:
        return False
    locked.with_bot = False
    locked.save(update_fields=["with_bot"])
    session.with_bot = False
    _say(locked, HANDOFF_NOTE[reason], key="handoff")
    realtime.publish(locked, services.session_event(locked), desk=True)
    services.route_session(locked)
    return True


def hand_off_stalled(*, now=None, limit: int = 200) -> int:
    """Hand off the bot's chats whose last message is the visitor's and older than the wait
    (the beat's safety net: a task lost with the broker, a provider that hung)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.CHAT_BOT_WAIT_SECONDS)
    stalled = (
        ChatSession.objects.filter(
            with_bot=True,
            status=SessionStatus.QUEUED,
            last_customer_activity_at__lt=cutoff,
            messages__seq=F("last_seq"),
            messages__sender_type=SenderType.CUSTOMER,
        )
        .order_by("started_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(hand_off(ChatSession(pk=pk), reason="slow") for pk in list(stalled))
