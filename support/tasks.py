from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def auto_close_resolved_tickets() -> int:
    """Close tickets resolved more than TICKET_AUTO_CLOSE_DAYS ago (beat, hourly)."""
    return services.auto_close_resolved()


@shared_task(acks_late=True, ignore_result=True)
def check_sla_breaches() -> dict:
    """Mark SLA warnings and breaches, notify and escalate (beat, every minute)."""
    from .monitor import run_monitor

    run = run_monitor()
    return {"warned": run.warned, "breached": run.breached, "escalated": run.escalated}
