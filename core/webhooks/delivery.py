"""Sending one webhook delivery (the outbox's sender for the `webhook` channel).

Each attempt signs the stored body afresh with the current time:

    X-Webhook-Timestamp: 1767225600
    X-Webhook-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>

so a receiver checks the signature and refuses timestamps older than a few minutes (a replay).
Every attempt is logged on the delivery (status code, error, duration). A 2xx succeeds; a 5xx,
408, 429, timeout or refused connection is retried by the outbox with backoff; any other
answer, and a refused (internal) address, fails at once. `WEBHOOK_MAX_CONSECUTIVE_FAILURES`
failed attempts in a row disable the subscription, and its admins are told.
"""

import hashlib
import hmac
import logging
import time

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.models import OutboxMessage, WebhookDelivery, WebhookSubscription
from core.models.webhooks import DeliveryStatus
from core.notifications.providers import DeliveryError, PermanentDeliveryError

from . import registry
from .security import UnsafeURL, post

logger = logging.getLogger(__name__)
LOG_ENTRIES = 20


def signature(secret: str, timestamp: int, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify(secret: str, timestamp: str, body: str, header: str, *, tolerance: int = 300) -> bool:
    """What a receiver does (and our tests): the signature matches and the time is recent."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(time.time() - sent) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, sent, body), header or "")


def _record(delivery: WebhookDelivery, *, ok: bool, code, error: str, ms: int, final: bool) -> None:
    now = timezone.now()
    entry = {"at": now.isoformat(), "status_code": code, "error": error[:500], "duration_ms": ms}
    delivery.log = [*(delivery.log or []), entry][-LOG_ENTRIES:]
    delivery.attempts += 1
    delivery.response_code = code
    delivery.last_error = error[:2000]
    delivery.last_attempt_at = now
    if ok:
        delivery.status, delivery.delivered_at = DeliveryStatus.SUCCEEDED, now
    elif final:
        delivery.status = DeliveryStatus.FAILED
    delivery.save(
        update_fields=[
            "log",
            "attempts",
            "response_code",
            "last_error",
            "last_attempt_at",
            "status",
            "delivered_at",
        ]
    )
    subscriptions = WebhookSubscription.objects.filter(pk=delivery.subscription_id)
    if ok:
        subscriptions.exclude(consecutive_failures=0).update(consecutive_failures=0)
        return
    subscriptions.update(consecutive_failures=F("consecutive_failures") + 1)
    _disable_if_failing(delivery.subscription_id)


def _disable_if_failing(subscription_id: int) -> None:
    from core.notifications import notify_in_app
    from core.roles import Role

    limit = settings.WEBHOOK_MAX_CONSECUTIVE_FAILURES
    with transaction.atomic():
        reason = f"Disabled after {limit} failed attempts in a row."
        disabled = WebhookSubscription.objects.filter(
            pk=subscription_id, active=True, consecutive_failures__gte=limit
        ).update(active=False, disabled_reason=reason, updated_at=timezone.now())
        if not disabled:
            return
        registry.forget_subscriptions()
        subscription = WebhookSubscription.objects.get(pk=subscription_id)
        logger.warning("Webhook subscription %s disabled: %s", subscription_id, reason)
        from core.models import User

        admins = User.objects.filter(is_active=True, groups__name=Role.ADMIN).order_by("pk")
        for admin in admins:
            notify_in_app(
                key=f"webhook:{subscription_id}:disabled:{int(time.time())}:{admin.pk}",
                user=admin,
                title=f"Webhook “{subscription.name}” was disabled",
                body=reason,
                url=f"/desk/webhooks/{subscription_id}/",
            )


def send(message: OutboxMessage) -> str:
    delivery_id = (message.headers or {}).get("delivery", "")
    delivery = (
        WebhookDelivery.objects.select_related("subscription")
        .filter(delivery_id=delivery_id)
        .first()
    )
    if delivery is None:
        raise PermanentDeliveryError("The webhook delivery no longer exists")
    subscription = delivery.subscription
    final_attempt = message.attempts >= settings.OUTBOX_MAX_ATTEMPTS
    if not subscription.active:
        _record(delivery, ok=False, code=None, error="Subscription disabled", ms=0, final=True)
        raise PermanentDeliveryError("The webhook subscription is disabled")
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "SupportPlatform-Webhooks/1",
        "X-Webhook-Event": delivery.event,
        "X-Webhook-Delivery": delivery.delivery_id,
        "X-Webhook-Timestamp": str(timestamp),
        "X-Webhook-Signature": signature(subscription.secret, timestamp, delivery.body),
    }
    started = time.monotonic()
    try:
        response = post(subscription.url, delivery.body.encode(), headers)
    except UnsafeURL as exc:
        _record(delivery, ok=False, code=None, error=f"Refused: {exc}", ms=0, final=True)
        raise PermanentDeliveryError(f"Refused: {exc}") from exc
    except OSError as exc:
        ms = int((time.monotonic() - started) * 1000)
        error = "Timed out" if isinstance(exc, TimeoutError) else f"Unreachable: {exc}"
        _record(delivery, ok=False, code=None, error=error, ms=ms, final=final_attempt)
        raise DeliveryError(error) from exc
    code = response.status
    if 200 <= code < 300:
        _record(delivery, ok=True, code=code, error="", ms=response.duration_ms, final=True)
        return f"webhook:{delivery.delivery_id}:{code}"
    retry = code >= 500 or code in (408, 429)
    error = f"HTTP {code}: {response.body[:200]}"
    _record(
        delivery,
        ok=False,
        code=code,
        error=error,
        ms=response.duration_ms,
        final=final_attempt or not retry,
    )
    raise (DeliveryError if retry else PermanentDeliveryError)(error)
