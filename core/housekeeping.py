"""Deleting what outlived its retention period; run by the `core.tasks.housekeeping` beat job."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.models import IdempotencyRecord, Notification, OutboxMessage
from core.models.notifications import OutboxStatus

logger = logging.getLogger(__name__)


def _delete_in_batches(queryset, *, batch_size: int, max_batches: int) -> int:
    """Deletes the rows of `queryset` a batch at a time (short transactions, bounded locks)."""
    model = queryset.model
    deleted = 0
    for _ in range(max_batches):
        ids = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        _, per_model = model.objects.filter(pk__in=ids).delete()
        deleted += per_model.get(model._meta.label, 0)
        if len(ids) < batch_size:
            break
    return deleted


def purge_expired(now=None, *, batch_size: int = 1000, max_batches: int = 100) -> dict:
    """Deletes expired rows and returns how many of each kind went.

    * in-app notifications read more than NOTIFICATION_RETENTION_DAYS ago (by creation), and all
      of them, read or not, older than twice that;
    * outbox rows sent or failed more than OUTBOX_RETENTION_DAYS ago (pending and sending rows are
      kept whatever their age: they are work still to do). Their keys can then be written again;
    * idempotency records older than IDEMPOTENCY_KEY_TTL_HOURS.

    At most `batch_size * max_batches` rows of each kind per run; the next run continues.
    """
    now = now or timezone.now()
    limits = {"batch_size": batch_size, "max_batches": max_batches}
    notification_cutoff = now - timedelta(days=settings.NOTIFICATION_RETENTION_DAYS)
    counts = {
        "notifications": _delete_in_batches(
            Notification.objects.filter(
                Q(read_at__isnull=False, created_at__lt=notification_cutoff)
                | Q(created_at__lt=now - 2 * timedelta(days=settings.NOTIFICATION_RETENTION_DAYS))
            ).order_by(),
            **limits,
        ),
        "outbox": _delete_in_batches(
            OutboxMessage.objects.filter(
                status__in=[OutboxStatus.SENT, OutboxStatus.FAILED],
                created_at__lt=now - timedelta(days=settings.OUTBOX_RETENTION_DAYS),
            ).order_by(),
            **limits,
        ),
        "idempotency": _delete_in_batches(
            IdempotencyRecord.objects.filter(
                created_at__lt=now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
            ).order_by(),
            **limits,
        ),
    }
    logger.info(
        "housekeeping purged notifications=%d outbox=%d idempotency=%d",
        counts["notifications"],
        counts["outbox"],
        counts["idempotency"],
    )
    return counts
