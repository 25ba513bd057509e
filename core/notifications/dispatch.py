"""Delivering outbox rows: claim, send, record; and the sweeper that re-dispatches lost work.

How a row moves::

    pending --claim--> sending --provider accepted--> sent
                          |----retryable error----> pending (next_attempt_at = now + backoff)
                          |----permanent error, or OUTBOX_MAX_ATTEMPTS reached--> failed
    sending, lease expired --claim--> sending (the previous dispatch is presumed dead)

A dispatch first *claims* the row with one conditional UPDATE (pending and due, or sending with an
expired lease); whoever updates the row owns it for `OUTBOX_LEASE_SECONDS`, everyone else does
nothing. The provider is called outside any transaction, then the result is written with another
conditional UPDATE. So a task delivered twice, a retry racing the sweeper, or a re-published
message all end in at most one send.

Delivery guarantee: exactly once, except when a worker dies after the provider accepted the
message and before the row is marked sent. The lease then expires and the row is sent again:
at-least-once, in that window only. A database connection lost in that window is replaced and
the record written again (`_despite_a_lost_connection`). A call that failed after the provider
may have accepted the message (an SMTP server that took it and then timed out) raises
`providers.OutcomeUnknown`: the row is marked failed with "Outcome unknown" and never resent.
E-mails keep the same Message-ID on every attempt, so mail clients and ESPs can recognise a
duplicate; in-app notifications are idempotent (one per outbox row). Nothing is lost: a row
whose task was never published (broker down), whose retry message was lost, or whose worker died
is picked up by `sweep`, which runs every 30 s from beat.
"""

import logging
import random
import time
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.db.models import F, Q
from django.utils import timezone

from core.models import OutboxMessage
from core.models.notifications import OutboxStatus
from core.observability import request_id_var

from . import providers

logger = logging.getLogger(__name__)

SENT = "sent"
ALREADY_SENT = "already_sent"
ALREADY_FAILED = "already_failed"
NOT_DUE = "not_due"
CLAIMED_ELSEWHERE = "claimed_elsewhere"
RETRY_SCHEDULED = "retry_scheduled"
FAILED = "failed"
MISSING = "missing"

BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
ERROR_MAX_CHARS = 2000
_PROVIDER_ID_MAX = OutboxMessage._meta.get_field("provider_message_id").max_length


class Delivery(NamedTuple):
    """The outcome of one `deliver` call; `countdown` (seconds) is set for RETRY_SCHEDULED."""

    outcome: str
    countdown: float | None = None


def backoff(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failure: 30 s, 60 s, 120 s… capped at 1 h, +≤10%."""
    delay = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return delay + random.uniform(0, delay * 0.1)


def _claim(outbox_id: int) -> bool:
    now = timezone.now()
    claimable = Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=OutboxStatus.SENDING, lease_expires_at__lt=now
    )
    updated = OutboxMessage.objects.filter(claimable, pk=outbox_id).update(
        status=OutboxStatus.SENDING,
        lease_expires_at=now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS),
        attempts=F("attempts") + 1,
    )
    return updated == 1


_UNCLAIMED_OUTCOMES = {
    OutboxStatus.SENT: ALREADY_SENT,
    OutboxStatus.FAILED: ALREADY_FAILED,
    OutboxStatus.PENDING: NOT_DUE,
    OutboxStatus.SENDING: CLAIMED_ELSEWHERE,
}


def _not_claimed(outbox_id: int) -> Delivery:
    """Why the claim matched nothing: the row is gone, done, not due yet or leased to another."""
    statuses = list(OutboxMessage.objects.filter(pk=outbox_id).values_list("status", flat=True))
    return Delivery(_UNCLAIMED_OUTCOMES[statuses[0]] if statuses else MISSING)


def _owned(message: OutboxMessage):
    """The row, as long as this dispatch still holds the claim (nobody re-claimed it since)."""
    return OutboxMessage.objects.filter(
        pk=message.pk, status=OutboxStatus.SENDING, attempts=message.attempts
    )


def _fail(message: OutboxMessage, error: str) -> Delivery:
    if _owned(message).update(status=OutboxStatus.FAILED, last_error=error, lease_expires_at=None):
        logger.error(
            "Outbox %s (%s, %s) failed for good after %s attempts: %s",
            message.pk,
            message.channel,
            message.key,
            message.attempts,
            error,
        )
        return Delivery(FAILED)
    return Delivery(CLAIMED_ELSEWHERE)


RECORD_ATTEMPTS = 4
RECORD_RETRY_SECONDS = 0.5


def _despite_a_lost_connection(write, *, what: str):
    """Runs `write` (one statement, autocommit); a lost connection is replaced and it runs again.

    For the record that a provider accepted a message: losing it (the database restarted, a
    failover, a killed backend) would send the message again once the lease expires. Up to
    `RECORD_ATTEMPTS` tries over about three seconds; the statement is idempotent.
    """
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            return write()
        except (OperationalError, InterfaceError):
            if attempt == RECORD_ATTEMPTS or connection.in_atomic_block:
                raise
            logger.warning(
                "Lost the database connection recording %s; reconnecting (try %s of %s)",
                what,
                attempt + 1,
                RECORD_ATTEMPTS,
                exc_info=True,
            )
            connection.close()
            time.sleep(RECORD_RETRY_SECONDS * attempt)
    raise AssertionError("unreachable")


def deliver(outbox_id: int) -> Delivery:
    """Sends outbox row `outbox_id` if it is due and nobody else is sending it; records the result.

    Call it outside a transaction (the claim must be visible to other workers at once). Returns a
    `Delivery`; with RETRY_SCHEDULED the row is pending again, due in `countdown` seconds.
    """
    if not _claim(outbox_id):
        return _not_claimed(outbox_id)
    message = OutboxMessage.objects.get(pk=outbox_id)
    token = request_id_var.set(message.request_id or f"outbox-{message.pk}")
    try:
        return _deliver_claimed(message)
    finally:
        request_id_var.reset(token)


def _deliver_claimed(message: OutboxMessage) -> Delivery:
    if message.attempts > settings.OUTBOX_MAX_ATTEMPTS:
        # Earlier dispatches died without recording anything (their lease ran out).
        return _fail(message, message.last_error or "No dispatch finished within its lease")
    try:
        provider_id = providers.send(message)
    except Exception as exc:
        error = (
            str(exc) if isinstance(exc, providers.Suppressed) else f"{type(exc).__name__}: {exc}"
        )[:ERROR_MAX_CHARS]
        if isinstance(exc, providers.DeliveryError):
            logger.warning(
                "Outbox %s (%s) attempt %s failed: %s",
                message.pk,
                message.channel,
                message.attempts,
                error,
            )
        else:
            logger.exception(
                "Outbox %s (%s) attempt %s raised", message.pk, message.channel, message.attempts
            )
        if isinstance(exc, providers.PermanentDeliveryError):
            return _fail(message, error)
        if message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            return _fail(message, error)
        countdown = backoff(message.attempts)
        rescheduled = _owned(message).update(
            status=OutboxStatus.PENDING,
            next_attempt_at=timezone.now() + timedelta(seconds=countdown),
            lease_expires_at=None,
            last_error=error,
        )
        if not rescheduled:
            return Delivery(CLAIMED_ELSEWHERE)
        return Delivery(RETRY_SCHEDULED, countdown)

    # Not fenced by `attempts`: once a provider accepted the message it is sent, even if a slower
    # dispatch of ours was overtaken by a re-claim (that one then finds the row sent).
    recorded = _despite_a_lost_connection(
        lambda: (
            OutboxMessage.objects.filter(pk=message.pk)
            .exclude(status=OutboxStatus.SENT)
            .update(
                status=OutboxStatus.SENT,
                sent_at=timezone.now(),
                provider_message_id=(provider_id or "")[:_PROVIDER_ID_MAX],
                lease_expires_at=None,
            )
        ),
        what=f"the sending of outbox {message.pk}",
    )
    if not recorded:
        logger.warning(
            "Outbox %s was sent twice (a re-claimed dispatch finished first)", message.pk
        )
        return Delivery(ALREADY_SENT)
    logger.info("Outbox %s (%s) sent: %s", message.pk, message.channel, provider_id or "-")
    return Delivery(SENT)


def sweep(batch_size: int = 500) -> int:
    """Re-publishes delivery tasks for rows that should have been delivered by now; returns count.

    Due rows are those pending whose due time passed more than `OUTBOX_SWEEP_AFTER_SECONDS` ago
    (their task never ran: broker down at commit, retry message lost), and those sending whose
    lease expired (their worker died). A row just written, or whose retry countdown is running, is
    left to its own task. Each re-published row gets `next_attempt_at = now`, so a long queue
    backlog makes the sweeper publish a row at most once per grace period, not once per sweep.
    Publishing a row a task is also about to process is harmless: only one of them claims it.
    """
    from core.tasks import deliver_outbox_message

    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.OUTBOX_SWEEP_AFTER_SECONDS)
    in_flight = [OutboxStatus.PENDING, OutboxStatus.SENDING]
    # The partial index core_outbox_pending_due serves this: status in (pending, sending) and a
    # range on next_attempt_at (a sending row's next_attempt_at is before its claim).
    due_ids = list(
        OutboxMessage.objects.filter(status__in=in_flight, next_attempt_at__lte=cutoff)
        .filter(Q(status=OutboxStatus.PENDING) | Q(lease_expires_at__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch_size]
    )
    published = []
    for outbox_id in due_ids:
        try:
            deliver_outbox_message.apply_async(args=[outbox_id])
        except Exception:
            logger.exception(
                "Outbox sweep could not publish; %s rows wait for the next sweep",
                len(due_ids) - len(published),
            )
            break
        published.append(outbox_id)
    if published:
        OutboxMessage.objects.filter(
            pk__in=published, status__in=in_flight, next_attempt_at__lte=cutoff
        ).update(next_attempt_at=now)
        logger.info("Outbox sweep re-dispatched %s rows", len(published))
    return len(published)
