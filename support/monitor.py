"""The SLA monitor: marks warnings and breaches, records them, notifies, escalates.

Each check selects what is due with one indexed query (the partial indexes of `Ticket` hold only
tickets whose clock can still change state), in batches, each batch in one transaction:

    SELECT id ... WHERE <clock running> AND <flag> = false AND <instant> <= now
        ORDER BY <instant> LIMIT n FOR UPDATE SKIP LOCKED

then loads those tickets, flips the flag of exactly the rows it locked and writes their events,
notifications and escalations; the flag goes into the one UPDATE per batch that also carries
the escalations' changes of the tickets (one new row version per ticket, not two). What those
need besides the tickets is read once per batch or run, never per ticket (`_preload`): the
escalation levels with their notify users and teams, the active members of the teams to tell
(the team of an unassigned ticket, the teams a level notifies or reassigns to), the on-duty
support leads (for a ticket nobody owns) and the active SLA policies (for a level that raises
the priority).
So:
- its cost follows the tickets that change state, not the size of the table;
- two runs at once (or two beat processes by mistake) take disjoint rows and never double-notify
  (and notification keys are unique per effect besides);
- a crash rolls back the batch it was in; the next run finds those rows still due and finishes.
"""

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from core.batch import batched

from . import events, notifications, sla
from .models import Ticket
from .models.tickets import RESOLUTION_RUNNING, RESPONSE_RUNNING
from .services import escalation

logger = logging.getLogger(__name__)
Kind = events.Kind
BATCH_SIZE = 200
MAX_BATCHES = 50  # per check and run; the next run (a minute later) carries on


@dataclass(frozen=True)
class Check:
    clock: str  # "response" or "resolution"
    stage: str  # "warning" or "breach"
    running: object
    instant: str
    flag: str
    flagged_at: str | None


CHECKS = [
    Check("response", "warning", RESPONSE_RUNNING, "response_warn_at", "response_warned", None),
    Check(
        "resolution", "warning", RESOLUTION_RUNNING, "resolution_warn_at", "resolution_warned", None
    ),
    Check(
        "response",
        "breach",
        RESPONSE_RUNNING,
        "first_response_due_at",
        "response_breached",
        "response_breached_at",
    ),
    Check(
        "resolution",
        "breach",
        RESOLUTION_RUNNING,
        "resolution_due_at",
        "resolution_breached",
        "resolution_breached_at",
    ),
]


@dataclass
class MonitorRun:
    warned: int = 0
    breached: int = 0
    escalated: int = 0
    batches: int = 0
    # Escalation levels per policy id, read once per run.
    levels: dict = field(default_factory=dict)
    # Staff to tell and SLA policies, read once per run (as far as the batches need them).
    preload: escalation.Preload = field(default_factory=escalation.Preload)


# The ticket columns a batch's events, alerts and escalations read (organization: the tier a
# raised priority picks its policy by).
RELATED = ("assigned_to", "team", "organization", "sla_policy")


def _preload(tickets: list[Ticket], run: MonitorRun) -> None:
    """Read for the whole batch what its alerts and escalations would otherwise read per ticket.

    A constant number of queries per batch (none for what the run already holds): levels of
    new escalation policies (2), active members of the teams not yet read (1), the on-duty
    leads once a ticket nobody owns appears (1 per run), the SLA policies once a level raises
    the priority (1 per run).
    """
    escalation.load_levels(tickets, run.levels)
    levels = [level for ticket in tickets for level in escalation.levels_of(ticket, run.levels)]
    audience = run.preload.audience
    unowned = [ticket for ticket in tickets if ticket.assigned_to_id is None]
    audience.load_teams({t.team_id for t in unowned} | escalation.teams_of(levels))
    if any(not (t.team_id and audience.team_members(t.team_id)) for t in unowned):
        audience.on_duty_leads()
    if run.preload.policies is None and any(level.raise_priority for level in levels):
        run.preload.policies = sla.active_policies()


def _due(check: Check, now):
    return Ticket.objects.filter(check.running, **{check.flag: False, f"{check.instant}__lte": now})


def _locked_ids(queryset, order: str, batch_size: int):
    """The ids of the first `batch_size` rows of `queryset` by `order`, locked (rows another run
    holds are skipped). Ids only: a join here would be planned every minute for nothing due."""
    return (
        queryset.order_by(order)
        .select_for_update(skip_locked=True)
        .values_list("pk", flat=True)[:batch_size]
    )


def due_ids(check: Check, now, batch_size: int = BATCH_SIZE):
    """The query of a check's batch."""
    return _locked_ids(_due(check, now), check.instant, batch_size)


def escalation_ids(now, batch_size: int = BATCH_SIZE):
    """The query of a batch of due escalations."""
    return _locked_ids(
        Ticket.objects.filter(next_escalation_at__lte=now), "next_escalation_at", batch_size
    )


def _load(ids) -> list[Ticket]:
    return list(Ticket.objects.filter(pk__in=ids).select_related(*RELATED))


def _process_batch(check: Check, now, batch_size: int, run: MonitorRun) -> int:
    with transaction.atomic():
        ids = list(due_ids(check, now, batch_size))
        if not ids:
            return 0
        tickets = _load(ids)
        _preload(tickets, run)
        kind = Kind.SLA_WARNING if check.stage == "warning" else Kind.SLA_BREACHED
        with batched():
            for ticket in tickets:
                # Locked, so each one selected is still due: flip exactly those, in the one
                # UPDATE of the ticket that the batch writes with its escalation's changes.
                setattr(ticket, check.flag, True)
                flipped = [check.flag]
                if check.flagged_at:
                    setattr(ticket, check.flagged_at, getattr(ticket, check.instant))
                    flipped.append(check.flagged_at)
                escalation.save_fields(ticket, flipped)
                events.record(
                    ticket=ticket,
                    kind=kind,
                    after={
                        "clock": check.clock,
                        "due_at": getattr(ticket, check.instant).isoformat(),
                    },
                )
                _notify_and_escalate(check, ticket, now, run)
        run.batches += 1
        return len(ids)


def _notify_and_escalate(check: Check, ticket: Ticket, now, run: MonitorRun) -> None:
    policy = ticket.sla_policy
    auto = policy is not None and policy.auto_escalate
    if check.stage == "warning":
        run.warned += 1
        if policy is None or policy.notify_on_warning:
            notifications.sla_warning(ticket, clock=check.clock, audience=run.preload.audience)
        first_level = auto and ticket.escalation_level == 0
        if first_level and escalation.escalate_at_warning(
            ticket, now=now, cache=run.levels, preload=run.preload
        ):
            run.escalated += 1
        return
    run.breached += 1
    if policy is None or policy.notify_on_breach:
        notifications.sla_breached(ticket, clock=check.clock, audience=run.preload.audience)
    if auto and ticket.next_escalation_at is None:
        levels = escalation.levels_of(ticket, run.levels)
        next_at = escalation.next_breach_level_time(
            ticket, levels, after_level=ticket.escalation_level
        )
        if next_at is not None and next_at <= now:
            # Due at once (no delay): fire it on the row this batch already holds.
            if escalation.fire_next_level(ticket, now=now, levels=levels, preload=run.preload):
                run.escalated += 1
        elif next_at is not None:
            escalation.schedule_next_level(ticket, at=next_at)


def _escalate_due(now, batch_size: int, run: MonitorRun) -> int:
    with transaction.atomic():
        ids = list(escalation_ids(now, batch_size))
        if not ids:
            return 0
        tickets = _load(ids)
        _preload(tickets, run)
        with batched():
            for ticket in tickets:
                if escalation.fire_due_escalation(
                    ticket, now=now, cache=run.levels, preload=run.preload
                ):
                    run.escalated += 1
        run.batches += 1
        return len(ids)


def run_monitor(*, now=None, batch_size: int = BATCH_SIZE, max_batches: int = MAX_BATCHES):
    """One pass over everything due at `now`. Safe to run concurrently and to interrupt."""
    now = now or timezone.now()
    run = MonitorRun()
    for check in CHECKS:
        for _ in range(max_batches):
            if _process_batch(check, now, batch_size, run) < batch_size:
                break
    for _ in range(max_batches):
        if _escalate_due(now, batch_size, run) < batch_size:
            break
    if run.warned or run.breached or run.escalated:
        logger.info(
            "sla monitor warned=%s breached=%s escalated=%s",
            run.warned,
            run.breached,
            run.escalated,
        )
    return run
