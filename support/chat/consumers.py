"""The chat sockets: JSON frames over `/ws/chat/sessions/<id>/` (visitors) and `/ws/desk/` (agents).

Client → server: `auth {ticket, last_seq}` (visitors, first frame, within 5 s), `message
{client_msg_id, body[, internal]}`, `typing {on}`, `read {seq}`, `ping {last_seq}`, `handoff`
(visitors: talk to a person instead of the widget's assistant), and on the desk `subscribe
{session_id, last_seq}`, `unsubscribe`, `accept`; desk frames name their `session_id`. Server →
client: `message`, `ack {client_msg_id, seq}`, `typing {who, on}`, `read`, `presence`, `session
{status, queue_position, agent, bot}`, `resync {from_seq}`, `error {code}`, `pong`.

Delivery: every message is in the database before it is announced; the layer's event only
wakes a socket. Each socket remembers the last number it sent per session: the announced
message is sent if it is the next one, otherwise the socket reads what it missed from the
database first (a lost wake-up, or a whisper's number a visitor never sees). A client that
reconnects says the last number it saw and gets the rest in order; `ping` carries it too, so
a silently lost wake-up is repaired within one ping.

Close codes: 4401 not signed in (desk), 4403 origin not allowed, 4404 no such chat (also a
wrong, expired or spent ticket), 4408 no auth frame in time, 4002 the layer went away
(reconnect and resume).
"""

import asyncio
import logging
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from core.errors import DomainError, NotFound
from core.roles import is_staff_member

from . import bot, realtime, services

logger = logging.getLogger(__name__)

AUTH_TIMEOUT_SECONDS = 5
REPLAY_LIMIT = 500
TYPING_EVERY_SECONDS = 2.0


def _origin(scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"origin":
            return value.decode("latin-1")
    return ""


def _message_frames(rows) -> list[dict]:
    return [
        services.message_event(m, author_name=m.author.display_name if m.author_id else None)
        for m in rows
    ]


class ChatSocket(AsyncJsonWebsocketConsumer):
    """What both sockets share: the per-session last number and filling gaps from the database."""

    staff = False

    async def connect(self):
        self.last_seq: dict[str, int] = {}
        self.sessions: dict[str, object] = {}  # public id -> ChatSession
        self.typing_sent: dict[str, float] = {}
        await self.accept()
        realtime.register_socket(self)

    async def disconnect(self, code):
        realtime.unregister_socket(self)

    async def send_error(self, code: str, detail: str = "", **extra):
        await self.send_json({"type": "error", "code": code, "detail": detail, **extra})

    async def replay(self, sid: str, after: int) -> None:
        """Send the session's messages after `after` (this socket's view), in order."""
        session = self.sessions[sid]
        rows = await database_sync_to_async(
            lambda: list(
                services.messages_after(session, after, staff=self.staff, limit=REPLAY_LIMIT + 1)
            )
        )()
        if len(rows) > REPLAY_LIMIT:
            # Too many to push: the client pages them over the API from here.
            await self.send_json({"type": "resync", "session_id": sid, "from_seq": after})
            rows = rows[-REPLAY_LIMIT:]
        for frame in _message_frames(rows):
            await self.send_json({**frame, "session_id": sid})
        if rows:
            self.last_seq[sid] = max(self.last_seq.get(sid, 0), rows[-1].seq)
        else:
            self.last_seq[sid] = max(self.last_seq.get(sid, 0), after)

    async def send_event(self, message) -> None:
        """Send a layer event as its frame: the text encoded once at the publisher."""
        text = message.get("text")
        if text is None:  # an event from an older publisher
            text = realtime.encode(message["event"])
        await self.send(text_data=text)

    async def chat_event(self, message):
        """A layer wake-up: one event of a session this socket follows."""
        event = message["event"]
        sid = event.get("session_id")
        kind = event.get("type")
        if kind == "message":
            if sid not in self.sessions or (event.get("internal") and not self.staff):
                return
            last = self.last_seq.get(sid, 0)
            if event["seq"] <= last:
                return  # already sent (a replay got there first)
            if event["seq"] == last + 1:
                self.last_seq[sid] = event["seq"]
                await self.send_event(message)
            else:
                await self.replay(sid, last)
        elif kind == "typing":
            if event.get("from_staff") == self.staff:
                return  # one's own side's typing is not shown back
            await self.send_event(message)
        elif kind == "close":
            await self.close(code=event.get("code", 4002))
        else:
            await self.send_event(message)

    async def on_message(self, sid: str, content: dict, by) -> None:
        session = self.sessions[sid]
        try:
            message, _ = await database_sync_to_async(services.post_message)(
                session=session,
                by=by,
                client_msg_id=str(content.get("client_msg_id") or ""),
                body=str(content.get("body") or ""),
                internal=bool(content.get("internal")) and self.staff,
            )
        except DomainError as error:
            await self.send_error(
                error.code, error.message, client_msg_id=content.get("client_msg_id")
            )
            return
        await self.send_json(
            {
                "type": "ack",
                "session_id": sid,
                "client_msg_id": message.client_msg_id,
                "seq": message.seq,
            }
        )

    async def on_typing(self, sid: str, content: dict, who: str) -> None:
        on = bool(content.get("on"))
        now = time.monotonic()
        if on and now - self.typing_sent.get(sid, 0) < TYPING_EVERY_SECONDS:
            return  # throttled; never written anywhere
        self.typing_sent[sid] = now if on else 0
        session = self.sessions[sid]
        group = (
            realtime.visitor_group(session.public_id)
            if self.staff
            else realtime.staff_group(session.public_id)
        )
        frame = {"type": "typing", "session_id": sid, "who": who, "on": on}
        # The sockets decide by `from_staff`; the frame they send leaves it out.
        await self.channel_layer.group_send(
            group,
            {
                "type": "chat.event",
                "event": {**frame, "from_staff": self.staff},
                "text": realtime.encode(frame),
            },
        )

    async def on_ping(self, sid: str, content: dict) -> None:
        """The client's last number against the database's: fill what a lost wake-up missed."""
        session = self.sessions[sid]
        latest = await database_sync_to_async(
            lambda: type(session).objects.values_list("last_seq", flat=True).get(pk=session.pk)
        )()
        seen = content.get("last_seq")
        if isinstance(seen, int) and seen > self.last_seq.get(sid, 0):
            self.last_seq[sid] = seen
        if latest > self.last_seq.get(sid, 0):
            await self.replay(sid, self.last_seq.get(sid, 0))


class VisitorConsumer(ChatSocket):
    """One visitor, one session: the session the ticket in the first frame opens."""

    async def connect(self):
        self.sid = str(self.scope["url_route"]["kwargs"]["public_id"])
        self.authed = False
        await super().connect()
        self.auth_timer = asyncio.get_running_loop().call_later(
            AUTH_TIMEOUT_SECONDS, lambda: asyncio.ensure_future(self._auth_timeout())
        )

    async def _auth_timeout(self):
        if not self.authed:
            await self.send_error("auth_timeout", "Send the auth frame first.")
            await self.close(code=4408)

    async def disconnect(self, code):
        self.auth_timer.cancel()
        if self.authed:
            await self.channel_layer.group_discard(
                realtime.visitor_group(self.sid.replace("-", "")), self.channel_name
            )
        await super().disconnect(code)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if not self.authed:
            if kind != "auth":
                await self.send_error("auth_required", "Send the auth frame first.")
                await self.close(code=4401)
                return
            await self._authenticate(content)
            return
        if kind == "message":
            await self.on_message(self.sid, content, None)
        elif kind == "typing":
            await self.on_typing(self.sid, content, "visitor")
        elif kind == "read":
            await self._read(content)
        elif kind == "ping":
            await self.on_ping(self.sid, content)
            state = await database_sync_to_async(self._waiting_state)()
            if state is not None:
                await self.send_json(state)  # the place in the queue, and whether it is too long
            await self.send_json({"type": "pong"})
        elif kind == "hello":
            await self.replay(self.sid, _int(content.get("resume_after_seq")))
        elif kind == "handoff":
            # "Talk to a person": the bot's turn ends; the session event that follows says so.
            await database_sync_to_async(bot.hand_off)(self.sessions[self.sid], reason="asked")
        else:
            await self.send_error("unknown_frame", f"Unknown frame type {kind!r}.")

    async def _authenticate(self, content):
        try:
            session = await database_sync_to_async(services.consume_ws_ticket)(
                str(content.get("ticket") or ""), public_id=self.sid
            )
        except NotFound:
            await self.send_error("not_found", "No such chat.")
            await self.close(code=4404)
            return
        if not session.widget.allows_origin(_origin(self.scope)):
            await self.send_error("origin", "This site may not open the chat.")
            await self.close(code=4403)
            return
        self.authed = True
        self.auth_timer.cancel()
        self.sessions[self.sid] = session
        await self.channel_layer.group_add(
            realtime.visitor_group(session.public_id), self.channel_name
        )
        state = await database_sync_to_async(services.session_event)(session)
        await self.send_json({**state, "session_id": self.sid})
        await self.replay(self.sid, _int(content.get("last_seq")))

    def _waiting_state(self) -> dict | None:
        session = self.sessions[self.sid]
        session.refresh_from_db(fields=["status", "agent", "with_bot"])
        if session.status != "queued":
            return None
        return {**services.session_event(session), "session_id": self.sid}

    async def _read(self, content):
        await database_sync_to_async(services.mark_read)(
            session=self.sessions[self.sid], by=None, seq=_int(content.get("seq"))
        )


class AgentConsumer(ChatSocket):
    """An agent's desk: the queue's changes, and every session they subscribe to."""

    staff = True

    async def connect(self):
        user = self.scope.get("user")
        if (
            user is None
            or not user.is_authenticated
            or not await database_sync_to_async(is_staff_member)(user)
        ):
            await self.close(code=4401)
            return
        self.user = user
        await super().connect()
        await self.channel_layer.group_add(realtime.DESK_GROUP, self.channel_name)
        await self._heartbeat()

    async def disconnect(self, code):
        if hasattr(self, "user"):
            await self.channel_layer.group_discard(realtime.DESK_GROUP, self.channel_name)
            for session in self.sessions.values():
                await self.channel_layer.group_discard(
                    realtime.staff_group(session.public_id), self.channel_name
                )
            await super().disconnect(code)

    async def _heartbeat(self):
        wrote = await database_sync_to_async(services.heartbeat)(self.user)
        if wrote:
            # Back (or just arrived): someone in the queue may be theirs now.
            await database_sync_to_async(services.route_waiting)()

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self._heartbeat()
            if content.get("session_id") in self.sessions:
                await self.on_ping(content["session_id"], content)
            await self.send_json({"type": "pong"})
            return
        sid = str(content.get("session_id") or "") if isinstance(content, dict) else ""
        if kind == "subscribe":
            await self._subscribe(sid, _int(content.get("last_seq")))
            return
        if kind == "accept":
            await self._accept(sid)
            return
        if sid not in self.sessions:
            await self.send_error("not_subscribed", "Subscribe to the chat first.", session_id=sid)
            return
        if kind == "unsubscribe":
            session = self.sessions.pop(sid)
            self.last_seq.pop(sid, None)
            await self.channel_layer.group_discard(
                realtime.staff_group(session.public_id), self.channel_name
            )
        elif kind == "message":
            await self.on_message(sid, content, self.user)
        elif kind == "typing":
            await self.on_typing(sid, content, self.user.display_name)
        elif kind == "read":
            await database_sync_to_async(services.mark_read)(
                session=self.sessions[sid], by=self.user, seq=_int(content.get("seq"))
            )
        else:
            await self.send_error("unknown_frame", f"Unknown frame type {kind!r}.")

    async def _subscribe(self, sid: str, last_seq: int):
        try:
            session = await database_sync_to_async(services.staff_session)(self.user, sid)
        except NotFound:
            await self.send_error("not_found", "No such chat.", session_id=sid)
            return
        sid = str(session.public_id)
        self.sessions[sid] = session
        await self.channel_layer.group_add(
            realtime.staff_group(session.public_id), self.channel_name
        )
        state = await database_sync_to_async(services.session_event)(session)
        await self.send_json({**state, "session_id": sid})
        await self.replay(sid, last_seq)
        if session.agent_id == self.user.pk:
            await self.channel_layer.group_send(
                realtime.visitor_group(session.public_id),
                realtime.layer_message(
                    {
                        "type": "presence",
                        "session_id": sid,
                        "agent": self.user.display_name,
                        "state": "online",
                    }
                ),
            )

    async def _accept(self, sid: str):
        try:
            session = await database_sync_to_async(services.staff_session)(self.user, sid)
            await database_sync_to_async(services.accept_session)(session=session, by=self.user)
        except DomainError as error:
            await self.send_error(error.code, error.message, session_id=sid)
            return
        await self._subscribe(sid, 0)


def _int(value) -> int:
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0
