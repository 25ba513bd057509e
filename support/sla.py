"""SLA clocks of a ticket: which policy applies, when its targets fall due, and where it stands.

Clock rules (DESIGN §4):
- First response runs from creation to the first public agent reply.
- Resolution runs from creation to resolution and stands still while the ticket waits on the
  customer or is resolved; a reopen resumes it (the paused working minutes extend the due time).
- Both count working minutes of the policy's business calendar (24/7 without one), so a ticket
  created outside working hours starts its clocks at the next working minute.
- A priority or tier change, or a lead's override, recomputes both due times from the ticket's
  start with the new targets.

These functions change a ticket in memory and return the fields they changed; the services save
them in the transaction that caused the change, so the clocks are never out of step.
"""

import time
from dataclasses import dataclass
from datetime import datetime

from core.calendars import Schedule, add_working_minutes, working_minutes_between
from core.models import BusinessCalendar

from .models import SLAPolicy, Ticket
from .models.choices import Status

# Statuses in which the resolution clock stands still, and in which every clock has stopped.
PAUSING_STATUSES = frozenset({Status.WAITING_ON_CUSTOMER, Status.RESOLVED})
STOPPED_STATUSES = frozenset({Status.CLOSED, Status.CANCELLED})
DUE_FIELDS = [
    "sla_policy",
    "response_target_minutes",
    "resolution_target_minutes",
    "first_response_due_at",
    "resolution_due_at",
    "response_warn_at",
    "resolution_warn_at",
    "sla_due_at",
    "response_warned",
    "resolution_warned",
    "response_breached",
    "resolution_breached",
    "response_breached_at",
    "resolution_breached_at",
]


def policy_for(
    *, priority: str, tier: str | None, policies: dict | None = None
) -> SLAPolicy | None:
    """The most specific active policy: priority and tier, else priority alone.

    At most two rows match (one active policy per scope); choosing between them here keeps the
    query plain, which on ticket creation is measurably cheaper than ordering in SQL. A sweep
    passes `policies` (from `active_policies()`) and reads nothing.
    """
    if policies is not None:
        return (policies.get((priority, tier)) if tier else None) or policies.get((priority, ""))
    candidates = SLAPolicy.objects.filter(
        is_active=True, priority=priority, customer_tier__in=["", tier] if tier else [""]
    )
    return max(candidates, key=lambda policy: policy.customer_tier != "", default=None)


def active_policies() -> dict[tuple[str, str], SLAPolicy]:
    """Every active policy keyed by (priority, customer tier or ""), in one query, for a sweep
    that may re-pick the policy of many tickets (the monitor raising priorities)."""
    return {
        (policy.priority, policy.customer_tier): policy
        for policy in SLAPolicy.objects.filter(is_active=True).select_related("escalation_policy")
    }


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


def tier_of(ticket: Ticket) -> str | None:
    return ticket.organization.tier if ticket.organization_id else None


def assign_policy(
    ticket: Ticket, *, now: datetime | None = None, policies: dict | None = None
) -> list[str]:
    """Choose the policy for the ticket's priority and tier and recompute its clocks.

    A lead's override of the targets survives a priority change; only the policy (calendar,
    warning threshold, escalation) follows the new priority. `policies` (`active_policies()`)
    spares a sweep one query per ticket.
    """
    ticket.sla_policy = policy_for(
        priority=ticket.priority, tier=tier_of(ticket), policies=policies
    )
    if ticket.sla_overridden_at is None:
        policy = ticket.sla_policy
        ticket.response_target_minutes = policy.first_response_minutes if policy else None
        ticket.resolution_target_minutes = policy.resolution_minutes if policy else None
    recompute_due_times(ticket, now=now)
    return list(DUE_FIELDS)


def finished_pauses(ticket: Ticket) -> list[tuple[datetime, datetime]]:
    return [
        (datetime.fromisoformat(start), datetime.fromisoformat(end))
        for start, end in ticket.sla_pauses
    ]


def due_after_pauses(schedule: Schedule, start: datetime, minutes: float, pauses) -> datetime:
    """When `minutes` working minutes outside the pauses have passed since `start`.

    A pause that begins after the clock has already run out does not move the due time back.
    """
    cursor, remaining = start, minutes
    for pause_start, pause_end in pauses:
        if pause_start > cursor:
            available = working_minutes_between(schedule, cursor, pause_start)
            if available >= remaining:
                break
            remaining -= available
        cursor = max(cursor, pause_end)
    return add_working_minutes(schedule, cursor, remaining)


def _warning_minutes(ticket: Ticket, target: int) -> float:
    percent = ticket.sla_policy.warning_percent if ticket.sla_policy_id else 80
    return target * percent / 100


def recompute_due_times(ticket: Ticket, *, now: datetime | None = None) -> None:
    """Due and warning instants from the ticket's start, its targets and its paused time.

    Flags follow the new instants: a clock whose new due time is still ahead is no longer
    breached (or warned); one already past will be marked by the next monitor run.
    """
    if ticket.sla_policy_id is None and ticket.response_target_minutes is None:
        ticket.first_response_due_at = ticket.resolution_due_at = None
        ticket.response_warn_at = ticket.resolution_warn_at = ticket.sla_due_at = None
        return
    schedule = schedule_for(ticket.sla_policy)
    start = ticket.created_at
    response, resolution = ticket.response_target_minutes, ticket.resolution_target_minutes
    ticket.first_response_due_at = add_working_minutes(schedule, start, response)
    ticket.response_warn_at = add_working_minutes(
        schedule, start, _warning_minutes(ticket, response)
    )
    pauses = finished_pauses(ticket)
    ticket.resolution_due_at = due_after_pauses(schedule, start, resolution, pauses)
    ticket.resolution_warn_at = due_after_pauses(
        schedule, start, _warning_minutes(ticket, resolution), pauses
    )
    if now is not None:
        _reset_flags_ahead(ticket, now)
    refresh_sla_due_at(ticket)


def _reset_flags_ahead(ticket: Ticket, now: datetime) -> None:
    if ticket.first_responded_at is None:
        if ticket.first_response_due_at > now:
            ticket.response_breached, ticket.response_breached_at = False, None
        if ticket.response_warn_at > now:
            ticket.response_warned = False
    if ticket.resolved_at is None and ticket.sla_paused_at is None:
        if ticket.resolution_due_at > now:
            ticket.resolution_breached, ticket.resolution_breached_at = False, None
        if ticket.resolution_warn_at > now:
            ticket.resolution_warned = False


def refresh_sla_due_at(ticket: Ticket) -> None:
    """The nearest deadline still running; the queue sorts by it."""
    candidates = []
    running = ticket.status not in STOPPED_STATUSES and ticket.status != Status.RESOLVED
    if running and ticket.first_responded_at is None and ticket.first_response_due_at:
        candidates.append(ticket.first_response_due_at)
    if running and ticket.sla_paused_at is None and ticket.resolution_due_at:
        candidates.append(ticket.resolution_due_at)
    ticket.sla_due_at = min(candidates) if candidates else None


def record_first_response(ticket: Ticket, *, at: datetime) -> list[str]:
    """The first public agent reply stops the response clock."""
    if ticket.first_responded_at is not None:
        return []
    ticket.first_responded_at = at
    ticket.first_response_working_minutes = working_minutes_between(
        schedule_for(ticket.sla_policy), ticket.created_at, at
    )
    fields = ["first_responded_at", "first_response_working_minutes", "sla_due_at"]
    late = ticket.first_response_due_at is not None and at > ticket.first_response_due_at
    if late and not ticket.response_breached:
        # Answered late, before the monitor noticed: the breach is still a breach.
        ticket.response_breached = True
        ticket.response_breached_at = ticket.first_response_due_at
        fields += ["response_breached", "response_breached_at"]
    refresh_sla_due_at(ticket)
    return fields


def on_status_change(ticket: Ticket, *, old_status: str, at: datetime) -> list[str]:
    """Pause, resume or stop the resolution clock for a status change; returns changed fields."""
    new_status = ticket.status
    schedule = schedule_for(ticket.sla_policy)
    changed = []
    stops = new_status in PAUSING_STATUSES or new_status in STOPPED_STATUSES
    if stops and ticket.sla_paused_at is None:
        ticket.sla_paused_at = at
        changed.append("sla_paused_at")
    elif not stops and ticket.sla_paused_at is not None:
        ticket.sla_paused_minutes += working_minutes_between(schedule, ticket.sla_paused_at, at)
        ticket.sla_pauses = [*ticket.sla_pauses, [ticket.sla_paused_at.isoformat(), at.isoformat()]]
        ticket.sla_paused_at = None
        changed += ["sla_paused_at", "sla_paused_minutes", "sla_pauses"]
        if ticket.resolution_target_minutes is not None:
            recompute_due_times(ticket, now=at)
            changed += DUE_FIELDS
    if new_status == Status.RESOLVED:
        changed += _stop_resolution_clock(ticket, schedule)
    elif old_status == Status.RESOLVED and new_status not in STOPPED_STATUSES:
        # Reopened: the clock runs again. Closing keeps the minutes the resolution took.
        ticket.resolution_working_minutes = None
        changed.append("resolution_working_minutes")
    refresh_sla_due_at(ticket)
    changed.append("sla_due_at")
    return list(dict.fromkeys(changed))


def _stop_resolution_clock(ticket: Ticket, schedule: Schedule) -> list[str]:
    """Resolution took the working minutes up to when the clock last stood still."""
    stopped_at = ticket.sla_paused_at
    ticket.resolution_working_minutes = (
        working_minutes_between(schedule, ticket.created_at, stopped_at) - ticket.sla_paused_minutes
    )
    changed = ["resolution_working_minutes"]
    late = ticket.resolution_due_at is not None and stopped_at > ticket.resolution_due_at
    if late and not ticket.resolution_breached:
        # Resolved late, before the monitor noticed: the breach is still a breach.
        ticket.resolution_breached = True
        ticket.resolution_breached_at = ticket.resolution_due_at
        changed += ["resolution_breached", "resolution_breached_at"]
    return changed


@dataclass(frozen=True)
class ClockReading:
    target_minutes: int | None
    due_at: datetime | None
    elapsed_minutes: float | None
    remaining_minutes: float | None
    stopped_at: datetime | None
    warned: bool
    breached: bool
    breached_at: datetime | None


def read_clocks(ticket: Ticket, *, now: datetime) -> dict[str, ClockReading]:
    """Elapsed and remaining working minutes of both clocks, as of `now`."""
    schedule = schedule_for(ticket.sla_policy)
    start = ticket.created_at
    response_end = ticket.first_responded_at or now
    response_elapsed = working_minutes_between(schedule, start, response_end)
    resolution_end = ticket.resolved_at or ticket.sla_paused_at or now
    resolution_elapsed = (
        working_minutes_between(schedule, start, resolution_end) - ticket.sla_paused_minutes
    )

    def reading(target, due, elapsed, stopped_at, warned, breached, breached_at):
        return ClockReading(
            target_minutes=target,
            due_at=due,
            elapsed_minutes=round(elapsed, 2) if target is not None else None,
            remaining_minutes=round(target - elapsed, 2) if target is not None else None,
            stopped_at=stopped_at,
            warned=warned,
            breached=breached or (target is not None and stopped_at is None and due <= now),
            breached_at=breached_at,
        )

    return {
        "first_response": reading(
            ticket.response_target_minutes,
            ticket.first_response_due_at,
            response_elapsed,
            ticket.first_responded_at,
            ticket.response_warned,
            ticket.response_breached,
            ticket.response_breached_at,
        ),
        "resolution": reading(
            ticket.resolution_target_minutes,
            ticket.resolution_due_at,
            resolution_elapsed,
            ticket.resolved_at,
            ticket.resolution_warned,
            ticket.resolution_breached,
            ticket.resolution_breached_at,
        ),
    }


def sla_state(ticket: Ticket, *, now: datetime) -> str:
    """on_track, at_risk, breached, met, paused or none: how the ticket stands against its SLA."""
    if ticket.response_target_minutes is None and ticket.sla_policy_id is None:
        return "none"
    if ticket.response_breached or ticket.resolution_breached:
        return "breached"
    response_running = ticket.first_responded_at is None and ticket.status not in (
        STOPPED_STATUSES | {Status.RESOLVED}
    )
    resolution_running = ticket.sla_paused_at is None and ticket.resolved_at is None
    if ticket.status in STOPPED_STATUSES or ticket.resolved_at is not None:
        return "met"
    due = [
        ticket.first_response_due_at if response_running else None,
        ticket.resolution_due_at if resolution_running else None,
    ]
    if any(d is not None and d <= now for d in due):
        return "breached"
    if not response_running and not resolution_running:
        return "paused"
    warn = [
        ticket.response_warn_at if response_running else None,
        ticket.resolution_warn_at if resolution_running else None,
    ]
    if ticket.response_warned or ticket.resolution_warned:
        return "at_risk"
    if any(w is not None and w <= now for w in warn):
        return "at_risk"
    return "on_track"
