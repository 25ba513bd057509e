"""Waking sockets: what a service publishes after it commits, and how it reaches them.

The database is the record; these events only wake the sockets, which read what they missed
from the database (`consumers`). Groups:
- `chat.v.<session>`: the visitor's sockets of a session (public events only, never a whisper);
- `chat.s.<session>`: staff sockets watching a session (every event);
- `chat.desk`: every agent's desk socket (queue and assignment changes, agents' presence, no
  message bodies).

Modes (`settings.CHAT_REALTIME`):
- `layer`: publish straight to the channel layer (channels-redis pub/sub in production, where
  gunicorn, Celery and uvicorn share Redis; the in-memory layer inside one process in tests);
- `db-relay` (the embedded mode, no Redis): a process that is not the socket server writes a
  `ChatEvent` row in the same transaction; the one ASGI process tails the rows (`relay`) and
  publishes them to its in-memory layer. Inside the ASGI process itself events go straight to
  the layer.
"""

import asyncio
import json
import logging
import uuid
import weakref

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

DESK_GROUP = "chat.desk"
# Set by `relay.start` in the one ASGI process of the embedded mode.
in_socket_process = False


def _hex(public_id) -> str:
    return public_id.hex if isinstance(public_id, uuid.UUID) else uuid.UUID(str(public_id)).hex


def visitor_group(public_id) -> str:
    return f"chat.v.{_hex(public_id)}"


def staff_group(public_id) -> str:
    return f"chat.s.{_hex(public_id)}"


def _mode() -> str:
    return getattr(settings, "CHAT_REALTIME", "layer")


def encode(event: dict) -> str:
    """The frame's JSON text, as the sockets send it (what `send_json` would have made)."""
    return json.dumps(event)


def layer_message(event: dict) -> dict:
    """What goes through the layer: the event (the sockets decide with it) and its frame text,
    encoded here once per publish, so a thousand sockets send the same string instead of
    encoding the event a thousand times."""
    return {"type": "chat.event", "event": event, "text": encode(event)}


def send_now(groups, event: dict) -> None:
    """Send `event` to `groups` on this process's layer (sync code; at most once, like any
    layer send: a lost wake-up is repaired by the next one or the client's resume)."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = layer_message(event)
    try:
        for group in groups:
            async_to_sync(layer.group_send)(group, message)
    except Exception:  # a layer outage must not fail the write that already committed
        logger.warning("chat: could not publish %s", event.get("type"), exc_info=True)


def publish(session, event: dict, *, internal: bool = False, desk: bool = False) -> None:
    """Publish `event` about `session` once the current transaction commits.

    `internal` events reach staff sockets only; `desk` ones also every agent's desk socket.
    """
    groups = [staff_group(session.public_id)]
    if not internal:
        groups.append(visitor_group(session.public_id))
    if desk:
        groups.append(DESK_GROUP)
    _publish(groups, {**event, "session_id": str(session.public_id)}, session_pk=session.pk)


def publish_to_desks(event: dict) -> None:
    """Publish `event` (about no one chat: an agent's presence) to every agent's desk socket
    once the current transaction commits."""
    _publish([DESK_GROUP], event, session_pk=None)


def _publish(groups, event: dict, *, session_pk) -> None:
    if _mode() == "db-relay" and not in_socket_process:
        from .models import ChatEvent

        ChatEvent.objects.create(session_id=session_pk, payload={"groups": groups, "event": event})
        return
    transaction.on_commit(lambda: send_now(groups, event))


# --- the sockets of this process, and the watch on the layer ----------------------------------

_sockets: "weakref.WeakSet" = weakref.WeakSet()
_watch_task: asyncio.Task | None = None
PROBE_EVERY_SECONDS = 1.0
PROBE_TIMEOUT_SECONDS = 2.0


def register_socket(consumer) -> None:
    """Called by every consumer on connect: starts this process's background work once."""
    global _watch_task
    _sockets.add(consumer)
    if _mode() == "db-relay":
        from . import relay

        relay.start()
    elif _watch_task is None or _watch_task.done():
        layer = get_channel_layer()
        from channels_redis.pubsub import RedisPubSubChannelLayer

        if isinstance(layer, RedisPubSubChannelLayer):
            _watch_task = asyncio.ensure_future(watch_layer(layer))


def unregister_socket(consumer) -> None:
    _sockets.discard(consumer)


async def close_all_sockets(code: int = 4002) -> int:
    """Close every socket of this process (they reconnect and resume from the database)."""
    sockets = list(_sockets)
    for consumer in sockets:
        try:
            await consumer.close(code=code)
        except Exception:  # a socket already gone
            logger.debug("chat: closing a socket failed", exc_info=True)
    return len(sockets)


async def watch_layer(layer, *, every: float = PROBE_EVERY_SECONDS) -> None:
    """Send a probe through the layer every second and expect it back.

    The pub/sub layer reconnects to Redis by itself, but what was published while it was away is
    gone, and it says nothing (its `on_disconnect` hook is not called in channels-redis 4.3). A
    probe that does not come back means this process's sockets may have missed events: they are
    closed with 4002, and the clients reconnect and replay from their last number.
    """
    channel = await layer.new_channel()
    n = 0
    while True:
        await asyncio.sleep(every)
        if not _sockets:
            continue
        n += 1
        try:
            await layer.send(channel, {"type": "probe", "n": n})
            while True:
                got = await asyncio.wait_for(layer.receive(channel), PROBE_TIMEOUT_SECONDS)
                if got.get("n") == n:
                    break
        except asyncio.CancelledError:
            raise
        except Exception:
            closed = await close_all_sockets(4002)
            logger.warning("chat: the channel layer lost a probe; closed %s sockets", closed)
