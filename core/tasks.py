"""Celery tasks of the core app. They take ids and stay thin: the work is in the services."""

import logging

from celery import shared_task
from celery.exceptions import MaxRetriesExceededError
from django.conf import settings
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


@shared_task(
    bind=True, acks_late=True, max_retries=settings.OUTBOX_MAX_ATTEMPTS, ignore_result=True
)
def deliver_outbox_message(self, outbox_id: int) -> str:
    """Delivers one outbox row; safe to run any number of times for the same id."""
    from core.notifications import dispatch

    result = dispatch.deliver(outbox_id)
    if result.outcome == dispatch.RETRY_SCHEDULED:
        try:
            raise self.retry(countdown=result.countdown)
        except (MaxRetriesExceededError, OperationalError):
            # The row is pending with its due time set; the sweeper re-dispatches it.
            logger.warning("Could not schedule the retry of outbox %s", outbox_id, exc_info=True)
    return result.outcome


@shared_task(acks_late=True, ignore_result=True)
def deliver_outbox_messages(outbox_ids: list[int]) -> dict:
    """Delivers the outbox rows one transaction wrote; a row that must wait is retried alone."""
    from core.notifications import dispatch

    outcomes: dict[str, int] = {}
    for outbox_id in outbox_ids:
        result = dispatch.deliver(outbox_id)
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        if result.outcome == dispatch.RETRY_SCHEDULED:
            try:
                deliver_outbox_message.apply_async(args=[outbox_id], countdown=result.countdown)
            except OperationalError:
                # The row is pending with its due time set; the sweeper re-dispatches it.
                logger.warning("Could not schedule the retry of outbox %s", outbox_id)
    return outcomes


@shared_task(ignore_result=True)
def sweep_outbox() -> int:
    """Re-dispatches outbox rows whose task never ran or whose worker died (every 30 s)."""
    from core.notifications import dispatch

    return dispatch.sweep()


@shared_task(ignore_result=True)
def housekeeping() -> dict:
    """Deletes expired notifications, outbox rows and idempotency records (every 5 min)."""
    from core.housekeeping import purge_expired

    return purge_expired()


@shared_task(ignore_result=True)
def run_scheduled_work() -> dict:
    """Works the due rows of every registered kind of scheduled work (every 60 s).

    Safe to run twice at once or to redeliver: each row's work is done once (`core.scheduling`).
    """
    from core import scheduling

    return {label: vars(swept) for label, swept in scheduling.sweep().items()}


@shared_task(ignore_result=True)
def sweep_orphaned_files() -> dict:
    """Deletes stored files that no row references, once past their grace period (hourly)."""
    from core.housekeeping import sweep_orphaned_files

    return sweep_orphaned_files()
