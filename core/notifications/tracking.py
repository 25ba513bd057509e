"""Delivery tracking: what the ESP reports about sent e-mail, recorded against its outbox row.

anymail's tracking webhook (`/anymail/<esp>/tracking/`, HTTP basic auth with
ANYMAIL["WEBHOOK_SECRET"]; anymail refuses a wrong one before any signal) sends one
`anymail.signals.tracking` per event; `on_tracking` records it with `record_event`:

* one append-only `DeliveryEvent` per event, once: the ESP's event id (or a hash of the raw event)
  is unique, so a webhook the ESP retries is recorded once and changes nothing more;
* the outbox row is found by the ESP's message id (`OutboxMessage.provider_message_id`), and by
  the recipient as well when the event names one (an id that covers several recipients); no
  match is recorded with no row, never an error (mail sent by something else, or purged);
* the row's `delivery_state` becomes the event's kind when the event is the latest by the ESP's
  time (webhooks arrive out of order; at the same second the later stage wins);
* a hard bounce, a spam complaint, or a rejection for a bad address suppresses the address
  (`suppression.suppress`); a soft bounce (SMTP 4.x.x, SendGrid "blocked") or a deferral does not.
"""

import hashlib
import json
import logging
import re

from anymail.signals import EventType, RejectReason
from django.db import transaction
from django.utils import timezone

from core.internals.insert import insert_ignoring_conflicts
from core.models import DeliveryEvent, OutboxMessage
from core.models.notifications import DeliveryState, SuppressionReason

from . import suppression
from .consent import normalise_address

logger = logging.getLogger(__name__)

TEXT_MAX = 2000
# At the same event time, the later stage of a message's life wins (SendGrid's timestamps are
# whole seconds: "processed" and "delivered" often share one).
STAGE = {
    DeliveryState.QUEUED: 0,
    DeliveryState.SENT: 1,
    DeliveryState.DEFERRED: 2,
    DeliveryState.DELIVERED: 3,
    DeliveryState.AUTORESPONDED: 4,
    DeliveryState.OPENED: 5,
    DeliveryState.CLICKED: 6,
    DeliveryState.UNSUBSCRIBED: 7,
    DeliveryState.SUBSCRIBED: 7,
    DeliveryState.FAILED: 8,
    DeliveryState.REJECTED: 8,
    DeliveryState.BOUNCED: 8,
    DeliveryState.COMPLAINED: 9,
}
# A temporary SMTP failure: the reply code (4xx) or enhanced status (4.x.x) it starts with.
_SOFT_STATUS = re.compile(r"^\s*(4\d\d|4\.\d{1,3}\.\d{1,3})\b")
_EVENT_FIELDS = [f for f in DeliveryEvent._meta.concrete_fields if not f.primary_key]


def on_tracking(sender, event, esp_name, **kwargs):
    """The `anymail.signals.tracking` receiver (connected in `CoreConfig.ready`)."""
    record_event(event, esp_name=esp_name)


def _json_safe(raw) -> dict:
    if raw is None:
        return {}
    if hasattr(raw, "lists"):  # a QueryDict of a form-encoded webhook
        raw = {key: values if len(values) > 1 else values[0] for key, values in raw.lists()}
    try:
        value = json.loads(json.dumps(raw, default=str))
    except (TypeError, ValueError):
        value = {"repr": repr(raw)[:TEXT_MAX]}
    return value if isinstance(value, dict) else {"event": value}


def _dedupe_key(event, esp_name: str, raw: dict) -> str:
    if event.event_id:
        return f"{esp_name}:{event.event_id}"[:200]
    canonical = json.dumps(
        [event.event_type, event.message_id, event.recipient, raw], sort_keys=True, default=str
    )
    return f"{esp_name}:sha256:{hashlib.sha256(canonical.encode()).hexdigest()}"


def _matching_row(message_id: str, recipient: str) -> OutboxMessage | None:
    if not message_id:
        return None
    rows = list(
        OutboxMessage.objects.filter(provider_message_id=message_id).only("pk", "recipient")[:50]
    )
    if recipient:
        rows = [row for row in rows if normalise_address(row.recipient) == recipient]
    return rows[0] if len(rows) == 1 else None


def suppression_reason(event, raw: dict) -> str | None:
    """Why this event stops mail to its address, or None (soft bounces and deferrals do not)."""
    kind = event.event_type
    if kind == EventType.COMPLAINED:
        return SuppressionReason.COMPLAINED
    if kind == EventType.REJECTED and event.reject_reason in (
        RejectReason.INVALID,
        RejectReason.BOUNCED,
    ):
        return SuppressionReason.REJECTED
    if kind == EventType.BOUNCED:
        if str(raw.get("type", "")).lower() == "blocked":
            return None  # SendGrid: a block by the receiving server, temporary
        for status in (raw.get("status"), event.mta_response):
            if status and _SOFT_STATUS.search(str(status)):
                return None
        return SuppressionReason.BOUNCED
    return None


def _is_later(kind: str, at, row: OutboxMessage) -> bool:
    if row.delivery_state_at is None or at > row.delivery_state_at:
        return True
    return at == row.delivery_state_at and STAGE.get(kind, -1) >= STAGE.get(row.delivery_state, -1)


def record_event(event, *, esp_name: str = "") -> DeliveryEvent | None:
    """Record one anymail tracking event; returns the new row, or None if it was recorded before.

    One transaction: the event row (`INSERT ... ON CONFLICT DO NOTHING`, so a retried webhook
    stops here), then the outbox row's state under its row lock, then any suppression.
    """
    raw = _json_safe(event.esp_event)
    kind = event.event_type if event.event_type in DeliveryState.values else DeliveryState.UNKNOWN
    recipient = normalise_address(event.recipient or "")
    message_id = str(event.message_id or "")[:300]
    occurred_at = event.timestamp or timezone.now()
    with transaction.atomic():
        row = _matching_row(message_id, recipient)
        delivery_event = DeliveryEvent(
            outbox_message=row,
            dedupe_key=_dedupe_key(event, esp_name, raw),
            kind=kind,
            esp_name=esp_name[:40],
            provider_message_id=message_id,
            recipient=recipient[:254],
            occurred_at=occurred_at,
            description=str(event.description or "")[:TEXT_MAX],
            mta_response=str(event.mta_response or "")[:TEXT_MAX],
            raw=raw,
        )
        inserted = insert_ignoring_conflicts(
            DeliveryEvent,
            [delivery_event],
            fields=_EVENT_FIELDS,
            returning=[DeliveryEvent._meta.pk],
        )
        if not inserted:
            logger.info("Tracking event %s recorded before", delivery_event.dedupe_key)
            return None
        delivery_event.pk = inserted[0][0]
        delivery_event._state.adding = False
        if row is None:
            logger.info("Tracking event %s for unknown message %r", kind, message_id)
        else:
            locked = OutboxMessage.objects.select_for_update().get(pk=row.pk)
            if _is_later(kind, occurred_at, locked):
                OutboxMessage.objects.filter(pk=row.pk).update(
                    delivery_state=kind, delivery_state_at=occurred_at
                )
        reason = suppression_reason(event, raw)
        address = recipient or (normalise_address(row.recipient) if row else "")
        if reason and address:
            suppression.suppress(
                address=address,
                reason=reason,
                event=delivery_event,
                detail=delivery_event.description or delivery_event.mta_response,
            )
    return delivery_event
