"""Escalations (automatic levels and manual one-level-up) and reminders."""

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from core.batch import Sink
from core.bulk import update_rows
from core.errors import Conflict, DomainError
from core.internals import bulk_insert
from core.internals.rows import new_instance
from core.models import User

from .. import events, notifications, permissions, sla
from ..models import EscalationLevel, Team, Ticket, TicketEscalation
from ..models.choices import ACTIVE_STATUSES, PRIORITY_RANK, Priority
from .common import lock_ticket

Kind = events.Kind
REMINDER_INTERVAL = dt.timedelta(minutes=30)
RANKED_PRIORITIES = sorted(Priority.values, key=lambda p: PRIORITY_RANK[p])


def _raised(priority: str) -> str:
    index = RANKED_PRIORITIES.index(priority)
    return RANKED_PRIORITIES[max(0, index - 1)]


BULK_CHUNK = 500


def _write_escalations(rows: list[TicketEscalation]) -> None:
    if len(rows) == 1:
        rows[0].save()
    else:
        bulk_insert.create_rows(TicketEscalation, rows, chunk=BULK_CHUNK)


def _write_tickets(rows: list[tuple[Ticket, list[str]]]) -> None:
    """Save the tickets' changed fields: one UPDATE alone, one per set of fields in a batch."""
    if len(rows) == 1:
        ticket, fields = rows[0]
        ticket.save(update_fields=list(dict.fromkeys(fields)))
        return
    merged: dict[int, tuple[Ticket, set]] = {}
    for ticket, fields in rows:
        known = merged.get(ticket.pk)
        merged[ticket.pk] = (ticket, set(fields) | (known[1] if known else set()))
    now = timezone.now()
    by_fields: dict[tuple, list] = {}
    for ticket, fields in merged.values():
        if "updated_at" in fields:
            ticket.updated_at = now  # bulk_update does not run auto_now
        by_fields.setdefault(tuple(sorted(fields)), []).append(ticket)
    for fields, tickets in by_fields.items():
        update_rows(Ticket, tickets, list(fields))


@dataclass
class Preload:
    """What a sweep reads once for a batch so that its escalations read nothing per ticket:
    the staff to tell (`notifications.Audience`) and the active SLA policies keyed by
    (priority, tier) for levels that raise the priority (None: looked up per ticket)."""

    audience: notifications.Audience = field(default_factory=notifications.Audience)
    policies: dict | None = None


# Inside `core.batch.batched()` (the SLA monitor) these are written in bulk when the batch ends.
_TICKET_CHANGES = Sink("support:ticket-changes", _write_tickets)
_ESCALATIONS = Sink("support:escalations", _write_escalations)


def _escalation_policy_id(ticket: Ticket) -> int | None:
    return ticket.sla_policy.escalation_policy_id if ticket.sla_policy_id else None


def load_levels(tickets, cache: dict) -> None:
    """Fill `cache` (escalation policy id -> levels) for every policy of `tickets` not in it yet:
    two queries (levels with their teams, their notify users) however many tickets and policies."""
    missing = {_escalation_policy_id(ticket) for ticket in tickets} - set(cache) - {None}
    if not missing:
        return
    levels = (
        EscalationLevel.objects.filter(policy_id__in=missing, policy__is_active=True)
        .select_related("notify_team", "reassign_team")
        .prefetch_related("notify_users")
        .order_by("policy_id", "level")
    )
    cache.update({policy_id: [] for policy_id in missing})
    for level in levels:
        cache[level.policy_id].append(level)


def levels_of(ticket: Ticket, cache: dict | None = None) -> list[EscalationLevel]:
    """The ticket's escalation levels in order; `cache` (policy id -> levels, see `load_levels`)
    spares a sweep from reading the same policy for every ticket."""
    policy_id = _escalation_policy_id(ticket)
    if policy_id is None:
        return []
    cache = {} if cache is None else cache
    load_levels([ticket], cache)
    return cache[policy_id]


def teams_of(levels) -> set[int]:
    """The teams the levels notify or reassign to (whose members an escalation may tell)."""
    return {team_id for lv in levels for team_id in (lv.notify_team_id, lv.reassign_team_id)} - {
        None
    }


def next_breach_level_time(ticket: Ticket, levels, *, after_level: int) -> dt.datetime | None:
    """When the next breach-triggered level above `after_level` is due, or None."""
    breached_at = min(
        filter(None, [ticket.response_breached_at, ticket.resolution_breached_at]), default=None
    )
    if breached_at is None:
        return None
    for level in levels:
        if level.level > after_level and level.trigger == "breach":
            return breached_at + dt.timedelta(minutes=level.delay_minutes)
    return None


def _apply_level(
    ticket: Ticket,
    level: EscalationLevel | None,
    *,
    by,
    reason,
    source,
    target_team=None,
    target_user=None,
    trigger="",
    at,
    preload=None,
) -> tuple[TicketEscalation, list[str]]:
    """Record the escalation, reassign or raise priority if the level says so, notify.

    The ticket row is locked by the caller, who also saves the returned ticket fields (one
    UPDATE for everything the escalation changes). A level is reached once: callers decide the
    level from the ticket's own level under that lock, and the unique constraint backs it up.
    A sweep passes `preload` (`Preload`: the batch's audience and the active SLA policies), so
    an escalation reads nothing per ticket.
    """
    preload = preload or Preload()
    number = ticket.escalation_level + 1 if level is None else level.level
    escalation = new_instance(
        TicketEscalation,
        ticket=ticket,
        level=number,
        source=source,
        trigger=trigger,
        reason=reason,
        actor=by,
        target_team=target_team or (level.reassign_team if level else None),
        target_user=target_user,
        created_at=at,
    )
    plan = notifications.escalation_plan(
        ticket, escalation=escalation, level=level, audience=preload.audience
    )
    escalation.notified = plan.told
    _ESCALATIONS.add(escalation)
    before = {
        "escalation_level": ticket.escalation_level,
        "priority": ticket.priority,
        "team": ticket.team_id,
    }
    ticket.escalation_level = number
    fields = ["escalation_level", "updated_at"]
    new_team = target_team or (level.reassign_team if level else None)
    if new_team is not None and new_team.pk != ticket.team_id:
        ticket.team = new_team
        fields.append("team")
    if level is not None and level.raise_priority and ticket.priority != Priority.URGENT:
        ticket.priority = _raised(ticket.priority)
        fields += ["priority", *sla.assign_policy(ticket, now=at, policies=preload.policies)]
    if target_user is not None and target_user.pk != ticket.assigned_to_id:
        ticket.assigned_to = target_user
        fields.append("assigned_to")
    events.record(
        ticket=ticket,
        kind=Kind.ESCALATED,
        actor=by,
        before=before,
        after={
            "escalation_level": number,
            "priority": ticket.priority,
            "team": ticket.team_id,
            "source": source,
        },
        note=reason,
    )
    notifications.send_escalation(plan)
    return escalation, list(dict.fromkeys(fields))


@transaction.atomic
def escalate_ticket(
    *, ticket: Ticket, by: User, reason: str, team: Team | None = None, user: User | None = None
) -> TicketEscalation:
    """Manual escalation: one level up, with a reason and optionally a team or person to take it."""
    permissions.can_escalate.require(by, ticket)
    if not reason.strip():
        raise DomainError("Say why the ticket is escalated.", errors={"reason": ["Required."]})
    if (
        user is not None
        and not permissions.pickable_escalation_users(by, ticket, team).filter(pk=user.pk).exists()
    ):
        # Staff who can work the ticket where it goes; anyone else reads as a missing id.
        raise permissions.unknown_person("user", user.pk)
    ticket = lock_ticket(ticket.pk)
    if ticket.status not in ACTIVE_STATUSES:
        raise Conflict(f"A {ticket.status} ticket cannot be escalated.", code="ticket_inactive")
    levels = {level.level: level for level in levels_of(ticket)}
    level = levels.get(ticket.escalation_level + 1)
    if ticket.escalations.filter(level=ticket.escalation_level + 1).exists():
        # Only if the history and the ticket's level disagree (edited by hand): refuse cleanly.
        raise Conflict(
            f"{ticket.number} already reached escalation level {ticket.escalation_level + 1}.",
            code="already_escalated",
        )
    now = timezone.now()
    escalation, fields = _apply_level(
        ticket,
        level,
        by=by,
        reason=reason.strip(),
        source="manual",
        target_team=team,
        target_user=user,
        trigger="manual",
        at=now,
    )
    ticket.next_escalation_at = next_breach_level_time(
        ticket, list(levels.values()), after_level=ticket.escalation_level
    )
    ticket.save(update_fields=[*fields, "next_escalation_at"])
    return escalation


def fire_due_escalation(
    ticket: Ticket, *, now: dt.datetime, cache: dict | None = None, preload=None
):
    """The monitor's step for one ticket (row locked by the caller) whose escalation is due."""
    if ticket.next_escalation_at is None or ticket.next_escalation_at > now:
        return None
    return fire_next_level(ticket, now=now, levels=levels_of(ticket, cache), preload=preload)


def save_fields(ticket: Ticket, fields: list[str]) -> None:
    """Save `fields` of the (locked) ticket: with the batch's other changes of it in a batch
    (one UPDATE per set of fields), at once otherwise."""
    _TICKET_CHANGES.add((ticket, fields))


def schedule_next_level(ticket: Ticket, *, at: dt.datetime) -> None:
    """Set when the ticket's next level is due (row locked by the caller; bulk in a batch)."""
    ticket.next_escalation_at = at
    _TICKET_CHANGES.add((ticket, ["next_escalation_at"]))


def fire_next_level(
    ticket: Ticket, *, now: dt.datetime, levels, preload=None
) -> TicketEscalation | None:
    """Fire the ticket's next level (ticket row already locked) and schedule the one after."""
    escalation, fields = None, []
    if ticket.status in ACTIVE_STATUSES:
        level = next((lv for lv in levels if lv.level == ticket.escalation_level + 1), None)
        if level is not None:
            escalation, fields = _apply_level(
                ticket,
                level,
                by=None,
                reason="SLA breached",
                source="automatic",
                trigger=level.trigger,
                at=now,
                preload=preload,
            )
        ticket.next_escalation_at = next_breach_level_time(
            ticket, levels, after_level=ticket.escalation_level
        )
    else:
        ticket.next_escalation_at = None
    _TICKET_CHANGES.add((ticket, [*fields, "next_escalation_at"]))
    return escalation


def escalate_at_warning(
    ticket: Ticket, *, now: dt.datetime, cache: dict | None = None, preload=None
):
    """A policy level with the warning trigger fires when the ticket is first at risk."""
    levels = levels_of(ticket, cache)
    level = next((lv for lv in levels if lv.level == ticket.escalation_level + 1), None)
    if level is None or level.trigger != "warning":
        return None
    escalation, fields = _apply_level(
        ticket,
        level,
        by=None,
        reason="SLA at risk",
        source="automatic",
        trigger="warning",
        at=now,
        preload=preload,
    )
    _TICKET_CHANGES.add((ticket, fields))
    return escalation


@transaction.atomic
def remind(*, ticket: Ticket, by: User, target: str, message: str = "") -> None:
    """An SLA reminder to the assignee, or a nudge to the customer; once per 30 min per target."""
    permissions.can_remind.require(by, ticket, target)
    if target not in ("assignee", "customer"):
        raise DomainError("Remind the assignee or the customer.", errors={"target": ["Invalid."]})
    ticket = lock_ticket(ticket.pk)
    if ticket.status not in ACTIVE_STATUSES:
        raise Conflict(f"A {ticket.status} ticket needs no reminder.", code="ticket_inactive")
    if target == "assignee" and ticket.assigned_to_id is None:
        raise Conflict("The ticket has no assignee to remind.", code="no_assignee")
    now = timezone.now()
    recent = ticket.events.filter(
        kind=Kind.REMINDED, after__target=target, created_at__gt=now - REMINDER_INTERVAL
    ).exists()
    if recent:
        raise Conflict(
            f"The {target} was reminded less than {REMINDER_INTERVAL.seconds // 60} minutes ago.",
            code="reminder_rate_limited",
        )
    event = events.record(
        ticket=ticket,
        kind=Kind.REMINDED,
        actor=by,
        after={"target": target},
        note=message,
        immediate=True,  # the notification is keyed by this event's id
    )
    notifications.reminder(ticket, target=target, message=message, reminder_id=event.pk)
