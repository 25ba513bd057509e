"""Event names apps emit to webhooks, and `emit`, which writes the deliveries.

    # support/apps.py, in ready():
    registry.register_event("ticket.created", "A ticket was opened.")
    # support, inside the changing transaction:
    registry.emit("ticket.created", {"ticket": {...}})

`emit` writes one `WebhookDelivery` and one outbox row per active subscription listening to the
event, in the caller's transaction: a rolled-back change sends nothing, and a broker outage
delays the delivery without losing it (the outbox sweeper). The active subscriptions are read
once per transaction (a sweep emitting hundreds of events reads them once).
"""

import json
import uuid
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from core.batch import Sink
from core.internals import on_commit
from core.models.webhooks import WebhookDelivery, WebhookSubscription


@dataclass(frozen=True)
class EventType:
    name: str
    description: str


_events: dict[str, EventType] = {}
TEST_EVENT = "webhook.test"


def register_event(name: str, description: str) -> EventType:
    """Declare an event name (idempotent for the same name)."""
    event = _events.setdefault(name, EventType(name, description))
    return event


def events() -> list[EventType]:
    return sorted(_events.values(), key=lambda e: e.name)


def is_registered(name: str) -> bool:
    return name in _events


register_event(TEST_EVENT, "A test delivery (the “send test” button).")


def _load() -> list[WebhookSubscription]:
    return list(WebhookSubscription.objects.filter(active=True).order_by("pk"))


def active_subscriptions() -> list[WebhookSubscription]:
    if not on_commit.in_transaction():
        return _load()
    state = on_commit.connection_state("webhooks")
    entry = state.get("subscriptions")
    if entry is None or not on_commit.is_pending(entry["forget"]):

        def forget(state=state):
            state.pop("subscriptions", None)

        transaction.on_commit(forget)
        entry = state["subscriptions"] = {"forget": forget, "rows": _load()}
    return entry["rows"]


def forget_subscriptions(**kwargs):
    """Drop this connection's memo (a subscription changed in this transaction)."""
    on_commit.connection_state("webhooks").pop("subscriptions", None)


_forget = forget_subscriptions
post_save.connect(_forget, sender=WebhookSubscription, dispatch_uid="core.webhooks.forget")
post_delete.connect(_forget, sender=WebhookSubscription, dispatch_uid="core.webhooks.forget-del")

_DELIVERIES = Sink(
    "core:webhook-deliveries", lambda rows: WebhookDelivery.objects.bulk_create(rows)
)


def body_for(event: str, data: dict, delivery_id: str) -> str:
    return json.dumps(
        {"id": delivery_id, "event": event, "created_at": timezone.now().isoformat(), "data": data},
        cls=DjangoJSONEncoder,
        sort_keys=True,
    )


def queue(subscription: WebhookSubscription, event: str, data: dict) -> WebhookDelivery:
    """Write one delivery of `event` to `subscription` (and its outbox row)."""
    from core.notifications.services import enqueue_webhook

    delivery_id = str(uuid.uuid4())
    delivery = WebhookDelivery(
        subscription=subscription,
        delivery_id=delivery_id,
        event=event,
        body=body_for(event, data, delivery_id),
    )
    _DELIVERIES.add(delivery)
    enqueue_webhook(key=f"webhook:{delivery_id}", url=subscription.url, delivery_id=delivery_id)
    return delivery


def emit(event: str, data: dict) -> int:
    """Queue `event` with `data` for every active subscription listening; returns how many."""
    if event not in _events:
        raise ValueError(f"{event!r} is not a registered webhook event")
    listening = [s for s in active_subscriptions() if event in s.events]
    for subscription in listening:
        queue(subscription, event, data)
    return len(listening)
