"""Who works a ticket: manual assignment, claiming, and the teams' automatic strategies.

Automatic assignment locks the team row, then the candidate agents' profiles in id order, and
counts their loads under those locks, so concurrent assignments (also from teams sharing agents)
never push an agent past capacity and never deadlock.
"""

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from core.audit import record
from core.errors import Conflict, DomainError
from core.models import User
from core.roles import STAFF_ROLES

from .. import events, notifications, permissions
from ..chat import permissions as chat_permissions
from ..chat import services as chat_services
from ..models import AgentProfile, AgentProfileEvent, Team, Ticket
from ..models.choices import ACTIVE_STATUSES, AgentStatus, AssignmentStrategy, Status
from ..models.teams import MAX_CONCURRENT_CHATS
from ..models.tickets import AWAITING_AGENT
from .common import lock_ticket

Kind = events.Kind


def _set_assignee(ticket: Ticket, agent: User | None, *, by, note: str) -> list[str]:
    old = ticket.assigned_to_id
    ticket.assigned_to = agent
    fields = ["assigned_to"]
    if agent is not None and ticket.status == Status.OPEN:
        from .tickets import _apply_status

        fields += _apply_status(ticket, to=Status.ASSIGNED, by=by, note="", at=timezone.now())
    fields = [*dict.fromkeys(fields), "updated_at"]
    ticket.save(update_fields=fields)
    event = events.record(
        ticket=ticket,
        kind=Kind.ASSIGNED if agent else Kind.UNASSIGNED,
        actor=by,
        before={"assigned_to": old},
        after={"assigned_to": agent.pk if agent else None},
        note=note,
        immediate=True,  # the notification is keyed by this event's id
    )
    if agent is not None and (by is None or agent.pk != by.pk):
        notifications.ticket_assigned(ticket, assignment_id=event.pk, note=note)
    return fields


@transaction.atomic
def assign_ticket(*, ticket: Ticket, agent: User, by: User, note: str = "") -> Ticket:
    """Give the ticket to `agent` (an active staff member); an open ticket becomes assigned.

    Whom `by` may pick is `permissions.pickable_assignees`: a lead any active staff member, an
    agent themselves or a member of the ticket's team. Anyone else (a customer, an inactive
    account, another team's agent) is refused exactly like an id that does not exist.
    """
    permissions.can_assign.require(by, ticket)
    ticket = lock_ticket(ticket.pk)
    if ticket.status in (Status.CLOSED, Status.CANCELLED):
        raise Conflict(f"A {ticket.status} ticket cannot be assigned.", code="ticket_final")
    if not permissions.pickable_assignees(by, ticket).filter(pk=agent.pk).exists():
        raise permissions.unknown_person("agent", agent.pk)
    if ticket.assigned_to_id == agent.pk:
        return ticket
    _set_assignee(ticket, agent, by=by, note=note)
    return ticket


@transaction.atomic
def unassign_ticket(*, ticket: Ticket, by: User, note: str = "") -> Ticket:
    """Take the ticket off its agent; an assigned ticket goes back to open."""
    permissions.can_unassign.require(by, ticket)
    ticket = lock_ticket(ticket.pk)
    if ticket.assigned_to_id is None:
        return ticket
    if ticket.status == Status.ASSIGNED:
        from .tickets import _apply_status

        old = ticket.assigned_to_id
        fields = _apply_status(ticket, to=Status.OPEN, by=by, note=note, at=timezone.now())
        ticket.save(update_fields=[*dict.fromkeys(fields), "updated_at"])
        events.record(
            ticket=ticket,
            kind=Kind.UNASSIGNED,
            actor=by,
            before={"assigned_to": old},
            after={"assigned_to": None},
            note=note,
        )
        return ticket
    _set_assignee(ticket, None, by=by, note=note)
    return ticket


@transaction.atomic
def claim_ticket(*, ticket: Ticket, by: User) -> Ticket:
    """An agent takes an unassigned ticket; of two agents claiming at once, one wins (409)."""
    permissions.can_claim.require(by, ticket)
    ticket = lock_ticket(ticket.pk)
    if ticket.assigned_to_id is not None:
        if ticket.assigned_to_id == by.pk:
            return ticket
        raise Conflict("Someone else already has this ticket.", code="already_assigned")
    if ticket.status in (Status.CLOSED, Status.CANCELLED):
        raise Conflict(f"A {ticket.status} ticket cannot be claimed.", code="ticket_final")
    _set_assignee(ticket, by, by=by, note="Claimed")
    return ticket


def _candidates(team: Team) -> list[AgentProfile]:
    """The team's available staff members' profiles, locked in id order.

    Members without a profile get the default one first, created in user-id order so two
    transactions creating the same profiles queue on each other instead of deadlocking. The
    locks are `FOR NO KEY UPDATE`: enough to serialise assignments to an agent without blocking
    rows that merely reference the profile.
    """
    members = sorted(
        team.members.filter(is_active=True)
        .filter(Q(groups__name__in=list(STAFF_ROLES)) | Q(is_superuser=True))
        .values_list("pk", flat=True)
        .distinct()
    )
    existing = set(
        AgentProfile.objects.filter(user_id__in=members).values_list("user_id", flat=True)
    )
    missing = [AgentProfile(user_id=pk) for pk in members if pk not in existing]
    if missing:
        AgentProfile.objects.bulk_create(missing, ignore_conflicts=True)
    return list(
        AgentProfile.objects.select_for_update(no_key=True)
        .filter(user_id__in=members, status=AgentStatus.AVAILABLE)
        .order_by("pk")
    )


def _loads(user_ids) -> dict[int, int]:
    rows = (
        Ticket.objects.filter(assigned_to_id__in=user_ids, status__in=ACTIVE_STATUSES)
        .values("assigned_to_id")
        .annotate(n=Count("pk"))
    )
    loads = dict.fromkeys(user_ids, 0)
    loads.update({row["assigned_to_id"]: row["n"] for row in rows})
    return loads


def choose_agent(*, team: Team, ticket: Ticket) -> User | None:
    """The agent the team's strategy picks, or None (manual team, or nobody available)."""
    if team.strategy == AssignmentStrategy.MANUAL:
        return None
    profiles = _candidates(team)
    loads = _loads([p.user_id for p in profiles])
    free = [p for p in profiles if loads[p.user_id] < p.capacity]
    if not free:
        return None
    if team.strategy == AssignmentStrategy.ROUND_ROBIN:
        ordered = sorted(free, key=lambda p: p.user_id)
        after = [
            p for p in ordered if team.last_assigned_to_id and p.user_id > team.last_assigned_to_id
        ]
        chosen = (after or ordered)[0]
    else:
        if team.strategy == AssignmentStrategy.SKILL_BASED and ticket.category_id:
            skilled = set(
                AgentProfile.skills.through.objects.filter(
                    agentprofile_id__in=[p.pk for p in free], category_id=ticket.category_id
                ).values_list("agentprofile_id", flat=True)
            )
            free = [p for p in free if p.pk in skilled] or free
        chosen = min(free, key=lambda p: (loads[p.user_id], p.user_id))
    return User.objects.get(pk=chosen.user_id)


@transaction.atomic
def auto_assign(*, ticket: Ticket) -> User | None:
    """Assign an unassigned ticket by its team's strategy; returns the agent or None.

    Locks the team row (so a round-robin pointer is read and moved by one assignment at a time),
    then the ticket, then the candidates' profiles in id order; loads are counted under those
    locks, so no agent is pushed past capacity, also by teams sharing agents. A ticket already
    assigned or no longer active is left alone (idempotent).
    """
    if ticket.team_id is None:
        return None
    # NO KEY UPDATE: only the pointer changes. A plain FOR UPDATE would also block the KEY SHARE
    # lock that other transactions' foreign-key checks take on the team row (tickets filed into
    # or moved to the team), for no benefit.
    team = Team.objects.select_for_update(no_key=True).get(pk=ticket.team_id)
    given, ticket = ticket, lock_ticket(ticket.pk)
    if ticket.assigned_to_id is not None or ticket.status not in ACTIVE_STATUSES:
        return ticket.assigned_to
    if ticket.team_id != team.pk:
        return None  # moved to another team since the caller read it: that team's turn
    agent = choose_agent(team=team, ticket=ticket)
    if agent is None:
        return None
    team.last_assigned_to = agent
    team.save(update_fields=["last_assigned_to"])
    fields = _set_assignee(
        ticket, agent, by=None, note=f"Assigned automatically ({team.get_strategy_display()})"
    )
    # The caller (create_ticket) goes on with its own instance: bring it up to date.
    for name in fields:
        setattr(given, name, getattr(ticket, name))
    return agent


PROFILE_FIELDS = ("status", "capacity", "chat_enabled", "max_concurrent_chats")
CHAT_FIELDS = ("chat_enabled", "max_concurrent_chats")


def _check_profile_values(changes: dict) -> None:
    """Refuse bad values before anything is written (a 400 that changes nothing)."""
    errors = {}
    if "status" in changes and changes["status"] not in AgentStatus.values:
        errors["status"] = ["Invalid."]
    if "chat_enabled" in changes and not isinstance(changes["chat_enabled"], bool):
        errors["chat_enabled"] = ["True or false."]
    if "max_concurrent_chats" in changes:
        value = changes["max_concurrent_chats"]
        if isinstance(value, bool) or not isinstance(value, int):
            errors["max_concurrent_chats"] = ["A whole number."]
        elif not 0 <= value <= MAX_CONCURRENT_CHATS:
            errors["max_concurrent_chats"] = [f"From 0 to {MAX_CONCURRENT_CHATS}."]
    if errors:
        raise DomainError("Some values are not valid: nothing was changed.", errors=errors)


@transaction.atomic
def update_agent_profile(*, profile: AgentProfile, by: User, **changes) -> AgentProfile:
    """Status (the agent or a lead), capacity and skills (leads), chat settings (leads): who gets
    automatic work and chats.

    Agents change only their own status; anything else is refused (403), and a bad value is a
    400, both with nothing changed. The profile row is locked and compared under the lock; what
    changed is recorded as one `AgentProfileEvent` (before and after) in the same transaction.
    A change of availability or chat settings is told to live chat (presence on the desks and
    to the agent's visitors; the queue routed again when a seat may have opened).
    """
    permissions.can_change_agent_profiles.require(by)
    unknown = set(changes) - {*PROFILE_FIELDS, "skills"}
    if unknown:
        raise DomainError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    permissions.can_change_agent_status.require(by, profile)
    if set(changes) - {"status", *CHAT_FIELDS}:
        permissions.can_change_agent_capacity.require(by, profile)
    if set(changes) & set(CHAT_FIELDS):
        chat_permissions.can_change_chat_settings.require(by, profile)
    _check_profile_values(changes)
    locked = AgentProfile.objects.select_for_update(no_key=True).get(pk=profile.pk)
    skills = changes.pop("skills", None)
    before, after, fields = {}, {}, []
    for name in PROFILE_FIELDS:
        if name in changes and getattr(locked, name) != changes[name]:
            before[name], after[name] = getattr(locked, name), changes[name]
            setattr(locked, name, changes[name])
            fields.append(name)
    if "status" in fields:
        locked.status_changed_at = timezone.now()
        fields.append("status_changed_at")
    if fields:
        locked.save(update_fields=fields)
    if skills is not None:
        old = sorted(locked.skills.values_list("slug", flat=True))
        new = sorted(skill.slug for skill in skills)
        if old != new:
            profile.skills.set(skills)  # through the caller's instance: its prefetch is reset
            before["skills"], after["skills"] = old, new
    if before:
        record(
            AgentProfileEvent,
            kind=AgentProfileEvent.Kind.CHANGED,
            actor=by,
            before=before,
            after=after,
            profile=locked,
        )
    for name in (*fields, "status_changed_at"):
        setattr(profile, name, getattr(locked, name))
    if set(before) & {"status", *CHAT_FIELDS}:
        chat_services.agent_settings_changed(profile=locked, before=before)
    return profile


WAITING_GRACE = 60  # seconds a new ticket's own assignment task has before the sweep steps in
WAITING_BATCH = 200


def _assign_team_waiting(team_id: int, cutoff, limit: int) -> tuple[int, int, bool]:
    """Up to `limit` attempts on the team's oldest waiting tickets: (attempts, assigned, done).

    `done` when the team has nothing more to give this run: nobody free, or no ticket left.
    """
    waiting = Ticket.objects.filter(AWAITING_AGENT, team_id=team_id, created_at__lte=cutoff)
    ticket_ids = list(waiting.order_by("created_at").values_list("pk", flat=True)[:limit])
    attempts = assigned = 0
    for ticket_id in ticket_ids:
        attempts += 1
        if auto_assign(ticket=Ticket(pk=ticket_id, team_id=team_id)) is not None:
            assigned += 1
        elif waiting.filter(pk=ticket_id).exists():
            return attempts, assigned, True  # still waiting here: nobody in the team is free
    return attempts, assigned, len(ticket_ids) < limit


def assign_waiting(*, now=None, batch_size: int = WAITING_BATCH) -> int:
    """Auto-assign open, unassigned tickets of automatic teams, oldest first, team by team.

    At most `batch_size` attempts a run, shared between the teams with work: a team found with
    nobody free is left after one attempt (however long its backlog), and what one team cannot
    use goes to the others in the next round. The starting team turns every minute, so no team
    always comes last when the batch runs out.
    """
    import datetime as dt

    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=WAITING_GRACE)
    teams = list(
        Team.objects.exclude(strategy=AssignmentStrategy.MANUAL)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if teams:
        turn = int(now.timestamp() // 60) % len(teams)
        teams = teams[turn:] + teams[:turn]
    budget, assigned = batch_size, 0
    while budget > 0 and teams:
        share = max(1, budget // len(teams))
        still_busy = []
        for team_id in teams:
            if budget <= 0:
                break
            attempts, done_here, finished = _assign_team_waiting(
                team_id, cutoff, min(share, budget)
            )
            budget -= attempts
            assigned += done_here
            if not finished:
                still_busy.append(team_id)
        teams = still_busy
    return assigned
