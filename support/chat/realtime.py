"""Waking sockets: what a service publishes after it commits, and how it reaches them.

The database is the record; these events only wake the sockets, which read what they missed
from the database (`consumers`). Groups:
- `chat.v.<session>`: the visitor's sockets of a session (public events only, never a whisper);
- `chat.s.<session>`: staff sockets watching a session (every event);
- `chat.desk`: every agent's desk socket (queue and assignment changes, no message bodies).

Modes (`settings.CHAT_REALTIME`):
- `layer`: publish straight to the channel layer (channels-redis pub/sub in production, where
  gunicorn, Celery and uvicorn share Redis; the in-memory layer inside one process in tests);
- `db-relay` (the embedded mode, no Redis): a process that is not the socket server writes a
  `ChatEvent` row in the same transaction; the one ASGI process tails the rows (`relay`) and
  publishes them to its in-memory layer. Inside the ASGI process itself events go straight to
  the layer.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

DESK_GROUP = "chat.desk"
# Set by `relay.start` in the one ASGI process of the embedded mode.
in_socket_process = False


def visitor_group(public_id) -> str:
    return f"chat.v.{public_id.hex if hasattr(public_id, 'hex') else public_id}"


def staff_group(public_id) -> str:
    return f"chat.s.{public_id.hex if hasattr(public_id, 'hex') else public_id}"


def _mode() -> str:
    return getattr(settings, "CHAT_REALTIME", "layer")


def send_now(groups, event: dict) -> None:
    """Send `event` to `groups` on this process's layer (sync code; at most once, like any
    layer send: a lost wake-up is repaired by the next one or the client's resume)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        for group in groups:
            async_to_sync(layer.group_send)(group, {"type": "chat.event", "event": event})
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
    event = {**event, "session_id": str(session.public_id)}
    if _mode() == "db-relay" and not in_socket_process:
        from .models import ChatEvent

        ChatEvent.objects.create(session_id=session.pk, payload={"groups": groups, "event": event})
        return
    transaction.on_commit(lambda: send_now(groups, event))
