import time

from celery import shared_task

from . import services
from .services.tickets import AUTO_CLOSE_BATCH

# An hourly run drains the backlog batch by batch for up to this long (a batch of 500 is three
# statements, 0.4-0.5 s at a million tickets), so a busy day's resolutions never pile up behind a
# fixed batch.
AUTO_CLOSE_SECONDS = 120  # well inside CELERY_TASK_SOFT_TIME_LIMIT


@shared_task(acks_late=True, ignore_result=True)
def auto_close_resolved_tickets() -> int:
    """Close tickets resolved more than TICKET_AUTO_CLOSE_DAYS ago (beat, hourly)."""
    deadline = time.monotonic() + AUTO_CLOSE_SECONDS
    closed = 0
    while True:
        batch = services.auto_close_resolved(batch_size=AUTO_CLOSE_BATCH)
        closed += batch
        if batch < AUTO_CLOSE_BATCH or time.monotonic() >= deadline:
            return closed


@shared_task(acks_late=True, ignore_result=True)
def check_sla_breaches() -> dict:
    """Mark SLA warnings and breaches, notify and escalate (beat, every minute)."""
    from .monitor import run_monitor

    run = run_monitor()
    return {"warned": run.warned, "breached": run.breached, "escalated": run.escalated}


@shared_task(acks_late=True, ignore_result=True)
def auto_assign_ticket(ticket_id: int) -> int | None:
    """Assign a new ticket by its team's strategy (enqueued when the ticket is created)."""
    from .models import Ticket

    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return None
    agent = services.auto_assign(ticket=ticket)
    return agent.pk if agent else None


@shared_task(acks_late=True, ignore_result=True)
def assign_waiting_tickets() -> int:
    """Pick up tickets whose assignment task was lost or found nobody free (beat, every minute)."""
    return services.assign_waiting()


@shared_task(acks_late=True, ignore_result=True)
def run_triggers(ticket_ids: list[int]) -> dict:
    """Work the trigger runs a transaction scheduled (enqueued on commit; safe to repeat: the
    rows are claimed once by core.scheduling, and the minute sweep picks up what is lost)."""
    from .rules.engine import run_pending

    return vars(run_pending())


@shared_task(acks_late=True, ignore_result=True)
def run_automations() -> dict:
    """Fire the enabled automations on the tickets due (beat, every 5 minutes)."""
    from .rules.automations import run_automations as run

    result = run()
    return {"fired": result.fired, "failed": result.failed}


# Live chat's tasks live with chat; importing them here registers them with the worker.
from .chat.tasks import archive_inactive_chats, route_waiting_chats  # noqa: E402, F401
