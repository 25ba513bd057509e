from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def auto_close_resolved_tickets() -> int:
    """Close tickets resolved more than TICKET_AUTO_CLOSE_DAYS ago (beat, hourly)."""
    return services.auto_close_resolved()
