"""Thin beat tasks: each calls one service sweep (set-based, idempotent, safe twice at once)."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def escalate_overdue() -> int:
    """Hourly: completions past their deadline go to support for follow-up."""
    from .services import escalate_overdue as sweep

    return sweep()


@shared_task(acks_late=True, ignore_result=True)
def remind_customers() -> int:
    """Every 12 hours: customers whose deadline falls within 24 hours are reminded once."""
    from .services import remind_customers as sweep

    return sweep()


@shared_task(acks_late=True, ignore_result=True)
def auto_complete() -> int:
    """Daily: follow-ups that never reached the customer are completed automatically."""
    from .services import auto_complete as sweep

    return sweep()
