"""The embedded mode's relay: the one ASGI process publishes what other processes wrote.

Without Redis the channel layer is in-memory, so an event published by gunicorn (a REST send, a
transfer) or Celery (the archive job) would reach nobody. Those processes write `ChatEvent` rows
instead (`realtime.publish`, in the writing transaction); this task, started by the first
socket of the ASGI process, reads the rows after the last one it saw every 250 ms and sends them
to the in-memory layer. Events of the ASGI process itself go straight to the layer.
"""

import asyncio
import datetime as dt
import logging

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone

from . import realtime

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.25
BATCH = 500
KEEP = dt.timedelta(days=1)
_task: asyncio.Task | None = None


def start() -> None:
    global _task
    realtime.in_socket_process = True
    if _task is None or _task.done():
        _task = asyncio.ensure_future(run())


def _latest_id() -> int:
    from .models import ChatEvent

    return ChatEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _after(last_id: int) -> list[tuple[int, dict]]:
    from .models import ChatEvent

    return list(
        ChatEvent.objects.filter(pk__gt=last_id).order_by("pk").values_list("pk", "payload")[:BATCH]
    )


def prune(*, now=None) -> int:
    """Rows older than a day (the housekeeping of the relay log)."""
    from .models import ChatEvent

    cutoff = (now or timezone.now()) - KEEP
    return ChatEvent.objects.filter(created_at__lt=cutoff).delete()[0]


async def relay_once(last_id: int) -> int:
    """Publish the rows after `last_id`; returns the new last id."""
    layer = get_channel_layer()
    rows = await database_sync_to_async(_after)(last_id)
    for pk, payload in rows:
        message = realtime.layer_message(payload["event"])  # encoded once per event
        for group in payload["groups"]:
            await layer.group_send(group, message)
        last_id = pk
    return last_id


async def run() -> None:
    # From now on: a socket that connects asks for what it missed by its last number anyway.
    last_id = await database_sync_to_async(_latest_id)()
    while True:
        try:
            last_id = await relay_once(last_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("chat: the relay could not read events", exc_info=True)
        await asyncio.sleep(POLL_SECONDS)
