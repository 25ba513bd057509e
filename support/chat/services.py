"""Every write of live chat. The API, the sockets, the long-poll view and the tasks call these.

Guarantees, each kept by one function here:
- `post_message`: the message takes the session's next sequence number under the session's row
  lock, in the transaction that writes it (two statements: an UPDATE ... RETURNING of the
  number, the INSERT); a retried send (same client message id) returns the first message and
  keeps nothing of its own (no number taken).
- `route_session`: the eligible agents' profiles are locked in id order and their active chats
  counted under those locks, so simultaneous starts never give an agent more than their maximum.
- `transfer_to_ticket` / `archive_inactive`: one ticket per session (the session's unique
  `ticket`, set under its lock), the messages copied one to one (whispers as internal notes).
Sockets are woken after commit (`realtime.publish`); nothing here waits on them.
"""

import datetime as dt
import hashlib
import secrets
import uuid

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.html import escape, linebreaks

from core.calendars import Schedule, is_working_instant
from core.errors import Conflict, DomainError, NotFound
from core.jobs import enqueue_on_commit
from core.models import User
from core.roles import STAFF_ROLES, is_staff_member
from core.sanitize import html_to_text, sanitize_html

from ..models import AgentProfile, Team, Ticket, TicketMessage
from ..models.choices import AgentStatus, Channel, SenderType
from . import permissions, realtime, transcript
from .models import (
    ASSISTANT_NAME,
    OPEN_STATUSES,
    ChatMessage,
    ChatParticipant,
    ChatSession,
    ChatWidget,
    EndReason,
    ParticipantRole,
    SessionStatus,
)

PRESENCE_WINDOW = dt.timedelta(seconds=90)
# A desk heartbeat writes `last_seen_at` at most this often.
HEARTBEAT_WRITE_EVERY = dt.timedelta(seconds=30)
WS_TICKET_SECONDS = 60
WS_TICKET_SALT = "support.chat.ws-ticket"
MAX_BODY = 4000
ARCHIVE_BATCH = 200


# --- tokens ----------------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _public_id(value) -> uuid.UUID:
    """A chat's public id from a URL or a body; anything else is "no such chat"."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound("No such chat.") from None


def session_for_token(public_id, token: str) -> ChatSession:
    """The session that `token` opens; any other (or a wrong token) is a 404, never a 403."""
    if not token:
        raise NotFound("No such chat.")
    public_id = _public_id(public_id)
    session = (
        ChatSession.objects.select_related("widget", "agent")
        .filter(public_id=public_id, token_hash=hash_token(token))
        .first()
    )
    if session is None:
        raise NotFound("No such chat.")
    return session


def issue_ws_ticket(session: ChatSession) -> str:
    """A socket ticket for `session`: valid 60 seconds, once. Issuing one voids the previous."""
    ticket_id = secrets.token_hex(16)
    ChatSession.objects.filter(pk=session.pk).update(ws_ticket_id=ticket_id)
    return signing.dumps({"s": str(session.public_id), "t": ticket_id}, salt=WS_TICKET_SALT)


def consume_ws_ticket(ticket: str, *, public_id) -> ChatSession:
    """The session a socket ticket opens, spending the ticket (a replay is refused).

    The ticket must be for `public_id` (the session in the socket's URL): another session's
    ticket opens nothing here.
    """
    try:
        data = signing.loads(ticket or "", salt=WS_TICKET_SALT, max_age=WS_TICKET_SECONDS)
    except signing.BadSignature:
        raise NotFound("No such chat.") from None
    if data.get("s") != str(public_id) or not data.get("t"):
        raise NotFound("No such chat.")
    spent = ChatSession.objects.filter(public_id=data["s"], ws_ticket_id=data["t"]).update(
        ws_ticket_id=""
    )
    if spent != 1:
        raise NotFound("No such chat.")
    return ChatSession.objects.select_related("widget", "agent").get(public_id=data["s"])


# --- availability and routing ------------------------------------------------------------------


def _agent_users(team_id: int | None):
    """Staff who may take the chats of `team_id` (its members; no team: every staff member)."""
    users = User.objects.filter(is_active=True).filter(
        Q(groups__name__in=list(STAFF_ROLES)) | Q(is_superuser=True)
    )
    if team_id:
        users = users.filter(support_teams=team_id)
    return users.values_list("pk", flat=True).distinct()


def _eligible_profiles(team_id: int | None, *, now, lock: bool):
    profiles = AgentProfile.objects.filter(
        user_id__in=list(_agent_users(team_id)),
        chat_enabled=True,
        status=AgentStatus.AVAILABLE,
        last_seen_at__gte=now - PRESENCE_WINDOW,
    ).order_by("pk")
    if lock:
        # Every router locks the same rows in the same (id) order: they queue, never deadlock.
        profiles = profiles.select_for_update(no_key=True)
    return list(profiles)


def active_chat_counts(user_ids) -> dict[int, int]:
    rows = (
        ChatSession.objects.filter(agent_id__in=user_ids, status=SessionStatus.ACTIVE)
        .values("agent_id")
        .annotate(n=Count("pk"))
    )
    counts = dict.fromkeys(user_ids, 0)
    counts.update({row["agent_id"]: row["n"] for row in rows})
    return counts


def within_hours(widget: ChatWidget, now=None) -> bool:
    if widget.calendar_id is None:
        return True
    return is_working_instant(Schedule.from_calendar(widget.calendar), now or timezone.now())


def widget_status(widget: ChatWidget, *, now=None) -> str:
    """`online` (someone can take a chat now), `busy` (everyone is full and the queue is full)
    or `offline` (outside hours, or no agent available and seen): the widget shows the message
    form for busy and offline before the visitor types."""
    now = now or timezone.now()
    if not widget.is_active or not within_hours(widget, now):
        return "offline"
    profiles = _eligible_profiles(widget.team_id, now=now, lock=False)
    if not profiles:
        return "offline"
    counts = active_chat_counts([p.user_id for p in profiles])
    if any(counts[p.user_id] < p.max_concurrent_chats for p in profiles):
        return "online"
    waiting = ChatSession.objects.filter(
        widget=widget, status=SessionStatus.QUEUED, with_bot=False
    ).count()
    return "busy" if waiting >= widget.max_queue else "online"


def queue_position(session: ChatSession) -> int | None:
    """1 for the first in line; None unless the session is waiting (the bot's are not)."""
    if session.status != SessionStatus.QUEUED or session.with_bot:
        return None
    ahead = ChatSession.objects.filter(
        widget_id=session.widget_id, status=SessionStatus.QUEUED, with_bot=False
    ).filter(
        Q(started_at__lt=session.started_at) | Q(started_at=session.started_at, pk__lt=session.pk)
    )
    return ahead.count() + 1


def queue_positions(sessions) -> dict[int, int]:
    """The queue places of the waiting ones among `sessions`, in one query (lists)."""
    widget_ids = {
        s.widget_id for s in sessions if s.status == SessionStatus.QUEUED and not s.with_bot
    }
    if not widget_ids:
        return {}
    places: dict[int, int] = {}
    counters: dict[int, int] = {}
    waiting = ChatSession.objects.filter(
        widget_id__in=widget_ids, status=SessionStatus.QUEUED, with_bot=False
    )
    for pk, widget_id in waiting.order_by("started_at", "pk").values_list("pk", "widget_id"):
        counters[widget_id] = counters.get(widget_id, 0) + 1
        places[pk] = counters[widget_id]
    return places


def _join(session: ChatSession, user: User, *, at) -> None:
    ChatParticipant.objects.get_or_create(
        session=session, user=user, role=ParticipantRole.AGENT, defaults={"joined_at": at}
    )


def _assign(session: ChatSession, agent_id: int, *, now, by=None) -> None:
    """Give the locked, queued `session` to `agent_id` (whose profile the caller has locked)."""
    previous = session.agent_id
    session.agent_id = agent_id
    session.status = SessionStatus.ACTIVE
    session.accepted_at = session.accepted_at or now
    session.with_bot = False  # an agent who takes a chat from the bot ends its turn
    session.save(update_fields=["agent", "status", "accepted_at", "with_bot"])
    AgentProfile.objects.filter(user_id=agent_id).update(last_chat_assigned_at=now)
    agent = User.objects.get(pk=agent_id)
    _join(session, agent, at=now)
    if previous and previous != agent_id:
        ChatParticipant.objects.filter(
            session=session, user_id=previous, role=ParticipantRole.AGENT, left_at=None
        ).update(left_at=now)
    _system_message(
        session, f"{agent.display_name} joined the chat.", key=f"join:{agent_id}:{now.timestamp()}"
    )
    realtime.publish(session, session_event(session, agent=agent), desk=True)


@transaction.atomic
def route_session(session: ChatSession, *, now=None) -> User | None:
    """Give a queued session to the best eligible agent, or leave it queued.

    Eligible: chat enabled, available, seen in the last 90 seconds, fewer active chats than
    their maximum, in the session's team (the widget's, or the one it was transferred to; none:
    any staff member). Fewest active chats first, then the longest since their last chat. Their
    profiles are locked (id order) and counted under the lock, so simultaneous routings never
    push an agent past the maximum.
    """
    now = now or timezone.now()
    session = ChatSession.objects.select_for_update().select_related("widget").get(pk=session.pk)
    if session.status != SessionStatus.QUEUED or session.with_bot:
        return session.agent
    profiles = _eligible_profiles(session.team_id, now=now, lock=True)
    counts = active_chat_counts([p.user_id for p in profiles])
    free = [p for p in profiles if counts[p.user_id] < p.max_concurrent_chats]
    if not free:
        return None
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    chosen = min(
        free,
        key=lambda p: (counts[p.user_id], p.last_chat_assigned_at or epoch, p.user_id),
    )
    _assign(session, chosen.user_id, now=now)
    return session.agent


def route_waiting(*, widget: ChatWidget | None = None, limit: int = 50) -> int:
    """Route queued sessions, oldest first, while agents have seats; returns how many were.

    Called when an agent frees a seat or comes back, when a lead raises a maximum, and by the
    beat (every 15 s: whatever a missed wake-up left waiting). The waiting are taken per queue
    (widget and team): a queue is left at its first session nobody can take, so one queue
    without agents never holds up another, and a run costs one failed attempt per stuck queue
    plus at most `limit` placements. Each session is its own short transaction. The visitors
    still waiting are told their new place.
    """
    waiting = ChatSession.objects.filter(status=SessionStatus.QUEUED, with_bot=False)
    if widget is not None:
        waiting = waiting.filter(widget=widget)
    queues = list(
        waiting.order_by("widget_id", "team_id").values_list("widget_id", "team_id").distinct()
    )
    placed = 0
    for widget_id, team_id in queues:
        line = waiting.filter(widget_id=widget_id, team_id=team_id).order_by("started_at", "pk")
        for session in line[: max(limit - placed, 1)]:
            if route_session(session) is None:
                break
            placed += 1
        if placed >= limit:
            break
    if placed:
        _announce_queue(widget)
    return placed


# What a visitor is told of their agent's availability (never more than that).
VISITOR_PRESENCE = {
    AgentStatus.AVAILABLE: "online",
    AgentStatus.AWAY: "away",
    AgentStatus.OFFLINE: "offline",
}


def presence_event(profile: AgentProfile) -> dict:
    """An agent's presence as the desks see it."""
    return {
        "type": "presence",
        "agent_id": profile.user_id,
        "agent": profile.user.display_name,
        "status": profile.status,
        "chat_enabled": profile.chat_enabled,
        "max_concurrent_chats": profile.max_concurrent_chats,
    }


def agent_settings_changed(*, profile: AgentProfile, before: dict) -> None:
    """An agent's availability or chat settings changed (inside the change's transaction;
    `support.services.update_agent_profile` calls it): every desk is told, the visitors of
    the agent's open chats are told whether their agent is online, away or offline, and if a
    seat may have opened (available again, chat enabled, a higher maximum) the queue is
    routed once the change has committed. The agent's own chats stay theirs either way."""
    realtime.publish_to_desks(presence_event(profile))
    if "status" in before:
        state = VISITOR_PRESENCE.get(profile.status, "offline")
        for session in ChatSession.objects.filter(
            agent_id=profile.user_id, status=SessionStatus.ACTIVE
        ).only("pk", "public_id"):
            realtime.publish(
                session,
                {"type": "presence", "agent": profile.user.display_name, "state": state},
            )
    back = "status" in before and profile.status == AgentStatus.AVAILABLE
    enabled = before.get("chat_enabled") is False and profile.chat_enabled
    raised = before.get("max_concurrent_chats", profile.max_concurrent_chats) < (
        profile.max_concurrent_chats
    )
    if back or enabled or raised:
        transaction.on_commit(route_waiting)


def _announce_queue(widget: ChatWidget | None) -> None:
    waiting = ChatSession.objects.filter(status=SessionStatus.QUEUED, with_bot=False).order_by(
        "started_at", "pk"
    )
    if widget is not None:
        waiting = waiting.filter(widget=widget)
    positions: dict[int, int] = {}
    for session in waiting[:500]:
        positions[session.widget_id] = positions.get(session.widget_id, 0) + 1
        realtime.send_now(
            [realtime.visitor_group(session.public_id)],
            {
                "type": "session",
                "session_id": str(session.public_id),
                "status": session.status,
                "queue_position": positions[session.widget_id],
                "agent": None,
            },
        )


def session_event(session: ChatSession, *, agent: User | None = None) -> dict:
    agent = agent if agent is not None else session.agent
    return {
        "type": "session",
        "visitor": session.display_name,
        "status": session.status,
        "queue_position": queue_position(session),
        "agent": agent.display_name if agent is not None and session.agent_id else None,
        # The widget's assistant has the chat: the widget offers "Talk to a person".
        "bot": session.with_bot,
        # Waited longer than the widget allows: the widget offers the message form instead.
        "offer_message_form": session.status == SessionStatus.QUEUED
        and timezone.now() - session.started_at
        > dt.timedelta(seconds=session.widget.queue_timeout_s),
    }


# --- starting, messages --------------------------------------------------------------------


def start_session(
    *,
    widget: ChatWidget,
    customer: User | None = None,
    visitor_name: str = "",
    visitor_email: str = "",
    page_url: str = "",
    now=None,
) -> tuple[ChatSession, str]:
    """Start a chat and route it; returns the session and the visitor's resume token (shown once,
    stored hashed). A visitor signed in as a customer is that customer; otherwise an e-mail
    address is needed, so that the transcript and the ticket's replies can reach them.
    """
    now = now or timezone.now()
    if not widget.is_active:
        raise NotFound("No such widget.")
    if customer is not None and is_staff_member(customer):
        customer = None  # staff trying the widget chat as visitors
    if customer is not None:
        visitor_email = visitor_email or customer.email
        visitor_name = visitor_name or customer.full_name
    if not visitor_email:
        raise DomainError(
            "A chat needs an e-mail address.", errors={"visitor_email": ["This field is required."]}
        )
    if widget_status(widget, now=now) != "online":
        raise Conflict("Nobody can take a chat now: leave a message instead.", code="chat_offline")
    token = secrets.token_urlsafe(24)
    with transaction.atomic():
        session = ChatSession.objects.create(
            widget=widget,
            token_hash=hash_token(token),
            customer=customer,
            visitor_name=visitor_name.strip()[:200],
            visitor_email=visitor_email.strip().lower(),
            team=widget.team,
            page_url=page_url[:500],
            started_at=now,
            last_customer_activity_at=now,
            last_activity_at=now,
            with_bot=widget.bot_enabled,
        )
        ChatParticipant.objects.create(
            session=session, user=customer, role=ParticipantRole.VISITOR, joined_at=now
        )
        if session.with_bot:
            from . import bot

            bot.greet(session)
        realtime.publish(session, session_event(session), desk=True)
    route_session(session, now=now)
    session.refresh_from_db()
    return session, token


def _body(body: str) -> tuple[str, str]:
    text = (body or "").strip()
    if not text:
        raise DomainError("A message needs some text.", errors={"body": ["Required."]})
    if len(text) > MAX_BODY:
        raise DomainError(
            f"At most {MAX_BODY} characters.", errors={"body": ["The message is too long."]}
        )
    html = sanitize_html(linebreaks(escape(text)))
    return html, html_to_text(html)


def message_event(message: ChatMessage, *, author_name: str | None = None) -> dict:
    if message.sender_type == SenderType.AI_BOT:
        author_name = ASSISTANT_NAME
    return {
        "type": "message",
        "seq": message.seq,
        "client_msg_id": message.client_msg_id,
        "sender_type": message.sender_type,
        "author": author_name,
        "body": message.body_text,
        "internal": message.is_internal,
        "created_at": message.created_at.isoformat(),
    }


def _system_message(session: ChatSession, text: str, *, key: str) -> ChatMessage:
    message, _ = _write(
        session,
        sender_type=SenderType.SYSTEM,
        author=None,
        client_msg_id=f"sys:{key}"[:64],
        body_html=sanitize_html(f"<p>{escape(text)}</p>"),
        body_text=text,
        internal=False,
    )
    return message


class _AlreadyWritten(Exception):
    """The client's message id is taken: undo the number the send took (see `_write`)."""


def _next_seq_sql(*, sender_type, internal: bool, require_open: bool, now) -> tuple[str, list]:
    """One `UPDATE ... RETURNING` that takes the session's next number and stamps its activity
    (and reads whether the widget's bot has the chat).

    The UPDATE takes the session's row lock until the transaction ends, so the writers of one
    session queue here and each reads the number the previous one committed.
    """
    qn = connection.ops.quote_name
    column = lambda name: qn(ChatSession._meta.get_field(name).column)  # noqa: E731
    now = connection.ops.adapt_datetimefield_value(now)
    sets, params = [f"{column('last_seq')} = {column('last_seq')} + 1"], []
    if not internal:
        stamped = ["last_activity_at"]
        if sender_type == SenderType.CUSTOMER:
            stamped.append("last_customer_activity_at")
        elif sender_type == SenderType.AGENT:
            stamped.append("last_agent_activity_at")
        for name in stamped:
            sets.append(f"{column(name)} = %s")
            params.append(now)
        if sender_type == SenderType.AGENT:
            first = column("first_agent_reply_at")
            sets.append(f"{first} = COALESCE({first}, %s)")
            params.append(now)
    where = f"{column('id')} = %s"
    if require_open:
        where += f" AND {column('status')} IN (%s, %s)"
    sql = (
        f"UPDATE {qn(ChatSession._meta.db_table)} SET {', '.join(sets)} "
        f"WHERE {where} RETURNING {column('last_seq')}, {column('with_bot')}"
    )
    return sql, params


_MESSAGE_COLUMNS = (
    "session",
    "seq",
    "client_msg_id",
    "sender_type",
    "author",
    "body_html",
    "body_text",
    "is_internal",
    "created_at",
)


def _insert_sql() -> str:
    """One INSERT that writes the message unless the client's id is already the session's."""
    qn = connection.ops.quote_name
    column = lambda name: qn(ChatMessage._meta.get_field(name).column)  # noqa: E731
    columns = ", ".join(column(name) for name in _MESSAGE_COLUMNS)
    values = ", ".join(["%s"] * len(_MESSAGE_COLUMNS))
    return (
        f"INSERT INTO {qn(ChatMessage._meta.db_table)} ({columns}) VALUES ({values}) "
        f"ON CONFLICT ({column('session')}, {column('client_msg_id')}) DO NOTHING "
        f"RETURNING {column('id')}"
    )


def _write(
    session,
    *,
    sender_type,
    author,
    client_msg_id,
    body_html,
    body_text,
    internal,
    require_open=False,
):
    """Write a message with the session's next number: two statements, no read before them.

    1. `UPDATE chat session SET last_seq = last_seq + 1, <activity> ... RETURNING last_seq`
       (with `require_open`, only while the chat is open): the number, under the row lock;
    2. `INSERT ... ON CONFLICT (session, client_msg_id) DO NOTHING RETURNING id`.
    A retried send finds its client id taken at (2): the block is rolled back, so the number
    taken at (1) is given back (no gap), and the first message is read and returned. Writers
    of one session are serialised by the lock of (1), so the retry sees the first copy once
    its writer has committed. Inside a caller's transaction (system messages) the block is a
    savepoint. Returns the message and whether it is new.
    """
    now = timezone.now()
    sql, params = _next_seq_sql(
        sender_type=sender_type, internal=internal, require_open=require_open, now=now
    )
    params.append(session.pk)
    if require_open:
        params += [str(status) for status in OPEN_STATUSES]
    message = ChatMessage(
        session=session,
        client_msg_id=client_msg_id,
        sender_type=sender_type,
        author=author,
        body_html=body_html,
        body_text=body_text,
        is_internal=internal,
        created_at=now,
    )
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                row = cursor.fetchone()
                if row is None:  # not open (or gone): no number was taken
                    raise _AlreadyWritten
                message.seq, with_bot = row
                cursor.execute(
                    _insert_sql(),
                    [
                        session.pk,
                        message.seq,
                        client_msg_id,
                        str(sender_type),
                        author.pk if author is not None else None,
                        body_html,
                        body_text,
                        internal,
                        connection.ops.adapt_datetimefield_value(now),
                    ],
                )
                inserted = cursor.fetchone()
                if inserted is None:
                    raise _AlreadyWritten
            message.pk = inserted[0]
            message._state.adding = False
            message._state.db = connection.alias
            author_name = author.display_name if author is not None else None
            realtime.publish(
                session, message_event(message, author_name=author_name), internal=internal
            )
    except _AlreadyWritten:
        existing = ChatMessage.objects.filter(session=session, client_msg_id=client_msg_id).first()
        if existing is not None:
            return existing, False
        raise Conflict("This chat has ended.", code="chat_ended") from None
    # The caller's copy follows the row (the database kept the first agent reply's time).
    session.last_seq = message.seq
    session.with_bot = bool(with_bot)  # whether the bot answers (post_message reads it)
    if not internal:
        session.last_activity_at = now
        if sender_type == SenderType.CUSTOMER:
            session.last_customer_activity_at = now
        elif sender_type == SenderType.AGENT:
            session.last_agent_activity_at = now
            session.first_agent_reply_at = session.first_agent_reply_at or now
    return message, True


def post_message(
    *,
    session: ChatSession,
    by: User | None,
    client_msg_id: str,
    body: str,
    internal: bool = False,
) -> tuple[ChatMessage, bool]:
    """Write a message; returns it and whether it is new (False: a retried send, the first copy).

    `by=None` is the session's visitor (who proved it with their token); staff write as agents,
    and only staff write whispers (`internal`), which never reach the visitor. A session that
    has ended takes no more messages (the retried send of one already written is still found).
    A new message costs two statements (`_write`); the sockets are woken after commit.
    """
    client_msg_id = (client_msg_id or "").strip()[:64]
    if not client_msg_id:
        raise DomainError(
            "A message needs the client's message id.",
            errors={"client_msg_id": ["This field is required."]},
        )
    staff = by is not None and is_staff_member(by)
    if by is not None:
        permissions.can_work_chats.require(by)
    if internal and not staff:
        raise DomainError("Visitors cannot whisper.", errors={"internal": ["Not allowed."]})
    body_html, body_text = _body(body)
    sender_type = SenderType.AGENT if staff else SenderType.CUSTOMER
    message, created = _write(
        session,
        sender_type=sender_type,
        author=by,
        client_msg_id=client_msg_id,
        body_html=body_html,
        body_text=body_text,
        internal=internal,
        require_open=True,
    )
    if created and sender_type == SenderType.CUSTOMER and session.with_bot:
        from .tasks import bot_reply

        enqueue_on_commit(bot_reply, message.pk)
    return message, created


@transaction.atomic
def write_bot_message(session: ChatSession, *, client_msg_id: str, body_html: str, body_text: str):
    """A message of the widget's assistant (`support.chat.bot`), once per `client_msg_id`."""
    return _write(
        session,
        sender_type=SenderType.AI_BOT,
        author=None,
        client_msg_id=client_msg_id,
        body_html=body_html,
        body_text=body_text,
        internal=False,
        require_open=True,
    )


def messages_after(session: ChatSession, after_seq: int = 0, *, staff: bool, limit: int = 500):
    """The session's messages after `after_seq`, in order; whispers only for staff."""
    messages = ChatMessage.objects.filter(session=session, seq__gt=max(int(after_seq), 0))
    if not staff:
        messages = messages.filter(is_internal=False)
    return messages.select_related("author").order_by("seq")[:limit]


@transaction.atomic
def mark_read(*, session: ChatSession, by: User | None, seq: int) -> None:
    """Move the reader's read mark forward (never back)."""
    readers = ChatParticipant.objects.filter(session=session)
    readers = (
        readers.filter(role=ParticipantRole.VISITOR)
        if by is None
        else readers.filter(user=by, role=ParticipantRole.AGENT)
    )
    readers.filter(last_read_seq__lt=seq).update(last_read_seq=min(seq, session.last_seq))


def heartbeat(user: User, *, now=None) -> bool:
    """Record that the agent's desk is open; writes at most every 30 seconds. Returns whether it
    wrote (a returning agent may free the queue: the caller routes then)."""
    now = now or timezone.now()
    wrote = (
        AgentProfile.objects.filter(user=user)
        .filter(Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=now - HEARTBEAT_WRITE_EVERY))
        .update(last_seen_at=now)
    )
    if not wrote and not AgentProfile.objects.filter(user=user).exists():
        AgentProfile.objects.get_or_create(user=user, defaults={"last_seen_at": now})
        wrote = 1
    return bool(wrote)


# --- accepting, transfers, the end -----------------------------------------------------------


def _lock_open(session: ChatSession) -> ChatSession:
    locked = ChatSession.objects.select_for_update().select_related("widget").get(pk=session.pk)
    if locked.status not in OPEN_STATUSES:
        raise Conflict("This chat has ended.", code="chat_ended")
    return locked


def _lock_capacity(agent: User, *, now) -> None:
    """Lock the agent's profile and refuse if they are full."""
    profile = AgentProfile.objects.select_for_update(no_key=True).filter(user=agent).first()
    if profile is None:
        profile = AgentProfile.objects.create(user=agent)
        profile = AgentProfile.objects.select_for_update(no_key=True).get(pk=profile.pk)
    if not profile.chat_enabled:
        raise Conflict(f"{agent.display_name} does not take chats.", code="chat_disabled")
    if active_chat_counts([agent.pk])[agent.pk] >= profile.max_concurrent_chats:
        raise Conflict(
            f"{agent.display_name} already has {profile.max_concurrent_chats} chats.",
            code="agent_full",
        )


@transaction.atomic
def accept_session(*, session: ChatSession, by: User) -> ChatSession:
    """An agent takes a waiting chat from the queue (within their maximum)."""
    permissions.can_work_chats.require(by)
    now = timezone.now()
    _lock_capacity(by, now=now)
    locked = _lock_open(session)
    if locked.status != SessionStatus.QUEUED:
        if locked.agent_id == by.pk:
            return locked
        raise Conflict("Another agent has taken this chat.", code="already_taken")
    _assign(locked, by.pk, now=now)
    return locked


@transaction.atomic
def transfer_to_agent(*, session: ChatSession, by: User, agent: User) -> ChatSession:
    """Hand the chat to another agent (within their maximum); the history stays, the visitor
    is told who joined."""
    permissions.can_transfer.require(by, session)
    if not is_staff_member(agent):
        raise DomainError("Chats go to support staff.", errors={"agent": ["Not an agent."]})
    now = timezone.now()
    _lock_capacity(agent, now=now)
    locked = _lock_open(session)
    if locked.agent_id == agent.pk:
        return locked
    _assign(locked, agent.pk, now=now, by=by)
    return locked


def transfer_to_team(*, session: ChatSession, by: User, team: Team) -> ChatSession:
    """Put the chat back in the queue of another team, which routes it to one of its agents."""
    permissions.can_transfer.require(by, session)
    with transaction.atomic():
        locked = _lock_open(session)
        previous = locked.agent_id
        locked.team = team
        locked.agent = None
        locked.status = SessionStatus.QUEUED
        locked.save(update_fields=["team", "agent", "status"])
        if previous:
            ChatParticipant.objects.filter(
                session=locked, user_id=previous, role=ParticipantRole.AGENT, left_at=None
            ).update(left_at=timezone.now())
        _system_message(
            locked,
            f"Transferred to {team.name}.",
            key=f"team:{team.pk}:{timezone.now().timestamp()}",
        )
        realtime.publish(locked, session_event(locked), desk=True)
    route_session(locked)  # among the team's members now
    locked.refresh_from_db()
    return locked


def _end(locked: ChatSession, *, reason: str, now) -> list[str]:
    locked.status = SessionStatus.ENDED
    locked.ended_at = now
    locked.end_reason = reason
    ChatParticipant.objects.filter(session=locked, left_at=None).update(left_at=now)
    return ["status", "ended_at", "end_reason"]


def end_session(*, session: ChatSession, by: User | None, reason: str | None = None) -> ChatSession:
    """End the chat (the visitor with `by=None`, or staff); frees the agent's seat, after which
    the queue is routed again. Ending an ended chat is a no-op."""
    if by is not None:
        permissions.can_work_chats.require(by)
    now = timezone.now()
    with transaction.atomic():
        locked = ChatSession.objects.select_for_update().get(pk=session.pk)
        if locked.status not in OPEN_STATUSES:
            return locked
        reason = reason or (EndReason.VISITOR if by is None else EndReason.AGENT)
        locked.save(update_fields=_end(locked, reason=reason, now=now))
        who = "The visitor" if by is None else by.display_name
        _system_message(locked, f"{who} ended the chat.", key="end")
        realtime.publish(locked, session_event(locked), desk=True)
        transcript.email_to_visitor(locked)
    route_waiting(widget=locked.widget)
    return locked


@transaction.atomic
def rate_session(*, session: ChatSession, rating: int, comment: str = "") -> ChatSession:
    """The visitor rates the chat (1-5) once it has ended; rating again replaces the first."""
    if not 1 <= int(rating) <= 5:
        raise DomainError("A rating is 1 to 5.", errors={"rating": ["Choose 1 to 5."]})
    locked = ChatSession.objects.select_for_update().get(pk=session.pk)
    if locked.status in OPEN_STATUSES:
        raise Conflict("A chat is rated once it has ended.", code="chat_open")
    locked.rating = int(rating)
    locked.rating_comment = comment.strip()[:2000]
    locked.save(update_fields=["rating", "rating_comment"])
    return locked


def _subject(session: ChatSession) -> str:
    first = (
        ChatMessage.objects.filter(
            session=session, sender_type=SenderType.CUSTOMER, is_internal=False
        )
        .order_by("seq")
        .values_list("body_text", flat=True)
        .first()
    )
    line = (first or "").strip().splitlines()[0] if first and first.strip() else ""
    return (line[:120] or f"Chat with {session.display_name}").strip()


def _copy_to_ticket(locked: ChatSession, *, by: User | None) -> Ticket:
    """The ticket of a locked session without one: every message copied as one ticket message."""
    from ..services.tickets import open_ticket
    from ..sla import record_first_response

    ticket = open_ticket(
        by=by,
        subject=_subject(locked),
        description=f"Chat started {locked.started_at:%Y-%m-%d %H:%M} UTC.",
        customer=locked.customer,
        customer_email=locked.visitor_email,
        customer_name=locked.visitor_name,
        channel=Channel.CHAT,
        team=locked.team,
        created_at=locked.started_at,
    )
    messages = list(ChatMessage.objects.filter(session=locked).order_by("seq"))
    TicketMessage.objects.bulk_create(
        TicketMessage(
            ticket=ticket,
            author_id=m.author_id,
            sender_type=m.sender_type,
            body_html=m.body_html,
            body_text=m.body_text,
            is_internal=m.is_internal,
            created_at=m.created_at,
        )
        for m in messages
    )
    public = [m for m in messages if not m.is_internal]
    fields = []
    if public:
        ticket.last_message_at = public[-1].created_at
        fields.append("last_message_at")
    customer_times = [m.created_at for m in public if m.sender_type == SenderType.CUSTOMER]
    if customer_times:
        ticket.customer_last_reply_at = customer_times[-1]
        fields.append("customer_last_reply_at")
    if locked.first_agent_reply_at is not None:
        fields += record_first_response(ticket, at=locked.first_agent_reply_at)
    if fields:
        ticket.save(update_fields=[*dict.fromkeys(fields), "updated_at"])
    locked.ticket = ticket
    return ticket


def transfer_to_ticket(*, session: ChatSession, by: User, end: bool = True) -> Ticket:
    """Turn the chat into a ticket (once: a second call returns the same ticket), its messages
    copied one to one, whispers as internal notes; the chat then ends unless `end` is False."""
    permissions.can_transfer.require(by, session)
    now = timezone.now()
    with transaction.atomic():
        locked = ChatSession.objects.select_for_update().get(pk=session.pk)
        if locked.ticket_id is not None:
            return locked.ticket
        ticket = _copy_to_ticket(locked, by=by)
        fields = ["ticket"]
        if end and locked.status in OPEN_STATUSES:
            fields += _end(locked, reason=EndReason.TRANSFERRED, now=now)
            locked.status = SessionStatus.TRANSFERRED
        locked.save(update_fields=fields)
        _system_message(locked, f"This chat continues as ticket {ticket.number}.", key="ticket")
        realtime.publish(locked, {**session_event(locked), "ticket": ticket.number}, desk=True)
    if end:
        route_waiting(widget=locked.widget)
    return ticket


def leave_offline_message(
    *,
    widget: ChatWidget,
    customer: User | None,
    body: str,
    visitor_name: str = "",
    visitor_email: str = "",
) -> ChatSession:
    """The message form shown when nobody can chat: a ticket (channel chat) whose replies reach
    the visitor by e-mail, recorded as an offline session."""
    from ..services.tickets import open_ticket

    if customer is not None and is_staff_member(customer):
        customer = None
    if customer is not None:
        visitor_email = visitor_email or customer.email
    if not visitor_email:
        raise DomainError(
            "We need your e-mail address to answer.",
            errors={"visitor_email": ["This field is required."]},
        )
    _, text = _body(body)
    with transaction.atomic():
        ticket = open_ticket(
            by=customer,
            subject=(text.splitlines()[0][:120] if text else "Chat message"),
            description=text,
            customer=customer,
            customer_email=visitor_email,
            customer_name=visitor_name,
            channel=Channel.CHAT,
            team=widget.team,
        )
        session = ChatSession.objects.create(
            widget=widget,
            token_hash=hash_token(secrets.token_urlsafe(24)),
            customer=customer,
            visitor_name=visitor_name.strip()[:200],
            visitor_email=visitor_email.strip().lower(),
            team=widget.team,
            status=SessionStatus.OFFLINE,
            ended_at=timezone.now(),
            ticket=ticket,
        )
    return session


# --- archive --------------------------------------------------------------------------------


def archive_session(session_id: int, *, now=None) -> Ticket | None:
    """End an inactive open session and turn it into its one ticket; a session no longer due
    (someone wrote meanwhile, or another run took it) is left alone."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            ChatSession.objects.select_for_update(skip_locked=True)
            .select_related("widget")
            .filter(pk=session_id, status__in=OPEN_STATUSES)
            .first()
        )
        if locked is None:
            return None
        cutoff = now - dt.timedelta(minutes=locked.widget.inactivity_minutes)
        if locked.last_activity_at >= cutoff:
            return None
        fields = _end(locked, reason=EndReason.INACTIVE, now=now)
        ticket = locked.ticket or _copy_to_ticket(locked, by=None)
        locked.status = SessionStatus.ARCHIVED
        locked.save(update_fields=[*fields, "ticket"])
        _system_message(locked, "The chat ended after a quiet spell.", key="archived")
        realtime.publish(locked, {**session_event(locked), "ticket": ticket.number}, desk=True)
        transcript.email_to_visitor(locked)
    return ticket


def _due_sessions(*, now, batch_size: int):
    """Open sessions whose widget's inactivity minutes have passed: one query on the partial
    (status, last_activity_at) index, one condition per distinct inactivity setting."""
    minutes = ChatWidget.objects.values_list("inactivity_minutes", flat=True).distinct()
    due = Q()
    for value in minutes:
        due |= Q(
            widget__inactivity_minutes=value,
            last_activity_at__lt=now - dt.timedelta(minutes=value),
        )
    if not due:
        return ChatSession.objects.none()
    return (
        ChatSession.objects.filter(status__in=OPEN_STATUSES)
        .filter(due)
        .order_by("last_activity_at")[:batch_size]
    )


def due_for_archive(*, now=None, batch_size: int = ARCHIVE_BATCH) -> list[int]:
    now = now or timezone.now()
    return [
        pk
        for pk, _ in _due_sessions(now=now, batch_size=batch_size).values_list(
            "pk", "last_activity_at"
        )
    ]


def schedule_archives(*, now=None, batch_size: int = ARCHIVE_BATCH) -> int:
    """The beat's half: one `ChatArchive` row per due session and quiet spell (keyed by the
    session and its last activity, so a rerun adds nothing and a chat that woke up and went
    quiet again gets a new one). Returns how many rows it asked for."""
    from core import scheduling

    from .models import ChatArchive

    now = now or timezone.now()
    rows = [
        ChatArchive(
            idempotency_key=f"chat:{pk}:archive:{last.timestamp():.6f}",
            due_at=now,
            session_id=pk,
        )
        for pk, last in _due_sessions(now=now, batch_size=batch_size).values_list(
            "pk", "last_activity_at"
        )
    ]
    return scheduling.schedule_many(ChatArchive, rows) if rows else 0


def run_archive(row) -> None:
    """The scheduled work's handler (`core.scheduling`): runs in the transaction that marks the
    row done, so the ticket, the messages and the transcript's outbox row commit with it."""
    archive_session(row.session_id)


def archive_inactive(*, now=None, batch_size: int = ARCHIVE_BATCH) -> int:
    """Archive every due session at once, without the scheduled work (the shell, tests)."""
    done = 0
    for session_id in due_for_archive(now=now, batch_size=batch_size):
        if archive_session(session_id, now=now) is not None:
            done += 1
    return done


def staff_sessions():
    return ChatSession.objects.select_related("widget", "agent", "customer", "ticket", "team")


def can_see_session(user, session) -> bool:
    return is_staff_member(user)


def staff_session(user, public_id) -> ChatSession:
    """A session for staff by its public id (404 for anyone else)."""
    if not is_staff_member(user):
        raise NotFound("No such chat.")
    public_id = _public_id(public_id)
    session = staff_sessions().filter(public_id=public_id).first()
    if session is None:
        raise NotFound("No such chat.")
    return session


def session_for_user(user, public_id) -> ChatSession:
    """A chat a signed-in user may name as context: staff any, a customer their own (404 for
    anything else, whether it exists or not)."""
    if is_staff_member(user):
        return staff_session(user, public_id)
    public_id = _public_id(public_id)
    session = ChatSession.objects.filter(public_id=public_id, customer_id=user.pk).first()
    if session is None:
        raise NotFound("No such chat.")
    return session


def settings_mode() -> str:
    return getattr(settings, "CHAT_REALTIME", "layer")
