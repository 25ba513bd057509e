"""SLA clocks of a ticket: which policy applies, and when its targets fall due.

Clock rules (DESIGN §4): first response runs from creation to the first public agent reply.
Resolution runs from creation to resolution and is paused while the ticket waits on the
customer or is resolved; a reopen resumes it. Both count working minutes of the policy's
business calendar (24/7 without one), so a ticket created outside working hours starts its
clocks at the next working minute. A priority or tier change recomputes both due times from
the ticket's start with the new targets.
"""

import time
from datetime import datetime

from django.db.models import Case, IntegerField, Q, Value, When

from core.calendars import Schedule, add_working_minutes, working_minutes_between
from core.models import BusinessCalendar

from .models import SLAPolicy, Ticket
from .models.choices import Status

# Statuses in which the resolution clock stands still.
PAUSING_STATUSES = frozenset({Status.WAITING_ON_CUSTOMER, Status.RESOLVED})
STOPPED_STATUSES = frozenset({Status.CLOSED, Status.CANCELLED})


def policy_for(*, priority: str, tier: str | None) -> SLAPolicy | None:
    """The most specific active policy: priority and tier, else priority alone."""
    scope = Q(customer_tier="")
    if tier:
        scope |= Q(customer_tier=tier)
    return (
        SLAPolicy.objects.filter(scope, is_active=True, priority=priority)
        .select_related("calendar")
        .annotate(
            specificity=Case(
                When(customer_tier="", then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("-specificity")
        .first()
    )


# Schedules are read from the database at most once a minute per process: an edited calendar
# applies within a minute, and creating a ticket costs no calendar queries.
SCHEDULE_CACHE_SECONDS = 60
_schedule_cache: dict[int, tuple[float, Schedule]] = {}


def schedule_for(policy: SLAPolicy | None) -> Schedule:
    if policy is None or policy.calendar_id is None:
        return Schedule.always()
    cached = _schedule_cache.get(policy.calendar_id)
    now = time.monotonic()
    if cached is None or now - cached[0] > SCHEDULE_CACHE_SECONDS:
        calendar = BusinessCalendar.objects.prefetch_related("intervals", "holidays").get(
            pk=policy.calendar_id
        )
        cached = (now, Schedule.from_calendar(calendar))
        _schedule_cache[policy.calendar_id] = cached
    return cached[1]


def forget_cached_schedules() -> None:
    _schedule_cache.clear()


def tier_of(ticket: Ticket) -> str | None:
    return ticket.organization.tier if ticket.organization_id else None


def assign_policy(ticket: Ticket) -> None:
    """Choose the policy and compute both due times from the ticket's start (unsaved)."""
    ticket.sla_policy = policy_for(priority=ticket.priority, tier=tier_of(ticket))
    recompute_due_times(ticket)


def recompute_due_times(ticket: Ticket) -> None:
    policy = ticket.sla_policy
    if policy is None:
        ticket.first_response_due_at = ticket.resolution_due_at = ticket.sla_due_at = None
        return
    schedule = schedule_for(policy)
    start = ticket.created_at
    ticket.first_response_due_at = add_working_minutes(
        schedule, start, policy.first_response_minutes
    )
    ticket.resolution_due_at = add_working_minutes(
        schedule, start, policy.resolution_minutes + ticket.sla_paused_minutes
    )
    refresh_sla_due_at(ticket)


def refresh_sla_due_at(ticket: Ticket) -> None:
    """The nearest deadline still running; the queue sorts by it."""
    candidates = []
    if ticket.first_responded_at is None and ticket.first_response_due_at:
        candidates.append(ticket.first_response_due_at)
    resolution_running = ticket.resolved_at is None and ticket.sla_paused_at is None
    if resolution_running and ticket.resolution_due_at and ticket.status not in STOPPED_STATUSES:
        candidates.append(ticket.resolution_due_at)
    ticket.sla_due_at = min(candidates) if candidates else None


def on_status_change(ticket: Ticket, *, old_status: str, at: datetime) -> list[str]:
    """Pause or resume the resolution clock for a status change. Returns the changed fields."""
    new_status = ticket.status
    changed = []
    was_paused = old_status in PAUSING_STATUSES
    now_paused = new_status in PAUSING_STATUSES or new_status in STOPPED_STATUSES
    if not was_paused and now_paused and ticket.sla_paused_at is None:
        ticket.sla_paused_at = at
        changed.append("sla_paused_at")
    elif was_paused and not now_paused and ticket.sla_paused_at is not None:
        schedule = schedule_for(ticket.sla_policy)
        ticket.sla_paused_minutes += working_minutes_between(schedule, ticket.sla_paused_at, at)
        ticket.sla_paused_at = None
        changed += ["sla_paused_at", "sla_paused_minutes"]
        if ticket.sla_policy_id:
            ticket.resolution_due_at = add_working_minutes(
                schedule,
                ticket.created_at,
                ticket.sla_policy.resolution_minutes + ticket.sla_paused_minutes,
            )
            changed.append("resolution_due_at")
    old_due = ticket.sla_due_at
    refresh_sla_due_at(ticket)
    if ticket.sla_due_at != old_due:
        changed.append("sla_due_at")
    return changed


def sla_state(ticket: Ticket, *, now: datetime) -> str:
    """on_track, at_risk, breached, met, paused or none: how the ticket stands against its SLA."""
    if ticket.sla_policy_id is None:
        return "none"
    if ticket.response_breached or ticket.resolution_breached:
        return "breached"
    if ticket.resolved_at is not None or ticket.status in STOPPED_STATUSES:
        return "met"
    if ticket.sla_due_at is not None and ticket.sla_due_at <= now:
        return "breached"
    if ticket.sla_paused_at is not None and ticket.first_responded_at is not None:
        return "paused"
    if ticket.response_warned or ticket.resolution_warned:
        return "at_risk"
    return "on_track"
