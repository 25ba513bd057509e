"""Thin Celery tasks: they load by id and call the services."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from core.jobs import enqueue_on_commit

from . import services
from .models import PrivacyRequest, RequestKind, RequestStatus

STALE_AFTER = timedelta(minutes=15)


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def build_export(request_id: int) -> None:
    services.build_export(request_id)


@shared_task
def dispatch_exports() -> int:
    """Queue again the exports whose task was lost (approved and never started, or running and
    not finished long after it started)."""
    now = timezone.now()
    lost = PrivacyRequest.objects.filter(kind=RequestKind.EXPORT).filter(
        status=RequestStatus.APPROVED, approved_at__lt=now - timedelta(minutes=2)
    ) | PrivacyRequest.objects.filter(
        kind=RequestKind.EXPORT, status=RequestStatus.RUNNING, started_at__lt=now - STALE_AFTER
    )
    ids = list(lost.values_list("pk", flat=True)[:100])
    for pk in ids:
        enqueue_on_commit(build_export, pk)
    return len(ids)


@shared_task
def schedule_retention() -> None:
    from . import retention

    retention.schedule_daily_run()


@shared_task
def seal_audit_chain(max_batches: int = 20) -> int:
    """Seal what is due, a bounded batch at a time, until nothing is left or the cap is hit."""
    from . import chain

    total = 0
    for _ in range(max_batches):
        sealed = chain.seal()
        total += sealed
        if sealed < chain.BATCH:
            break
    return total
