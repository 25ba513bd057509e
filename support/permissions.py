"""Who may do what in support, one predicate per action (see `core.permissions`).

Services refuse with `can_x.require(user, ...)`, the API declares `allows(can_x)`, and the
ticket pages show a button only when `ticket_actions()` says so. A predicate answers *who*;
whether the ticket's state allows the action stays in the services (a `Conflict`), and
`ticket_actions` adds the same state conditions so that a page never offers a refused button.

Visibility (which tickets a user sees at all) is `Ticket.objects.visible_to`; an agent outside a
ticket's team gets a 404 before any of these predicates is asked.
"""

from django.db.models import Q

from core.errors import DomainError
from core.permissions import action
from core.roles import STAFF_ROLES, Role, has_role, is_staff_member

from .models.choices import ACTIVE_STATUSES, FINAL_STATUSES, Status
from .workflow import allowed_targets


def _lead(user) -> bool:
    return has_role(user, Role.SUPPORT_LEAD, Role.ADMIN)


# --- the desk -------------------------------------------------------------------------------


@action("support.use_desk", "The desk is for support staff.")
def can_use_desk(user) -> bool:
    return is_staff_member(user)


@action("support.see_internal", "Only support staff see internal notes and SLA details.")
def can_see_internal(user, ticket=None) -> bool:
    """Internal notes, full audit trail, SLA clocks, escalation history."""
    return is_staff_member(user)


@action("support.see_reports", "Only support staff see reports.")
def can_see_reports(user) -> bool:
    return is_staff_member(user)


# --- the conversation -----------------------------------------------------------------------


@action("support.reply", "Sign in to answer a ticket.")
def can_reply(user, ticket=None) -> bool:
    """Anyone who sees the ticket may write to it (scoping already decided who sees it)."""
    return True


@action("support.write_internal_note", "Only support staff can write internal notes.")
def can_write_internal_note(user, ticket=None) -> bool:
    return is_staff_member(user)


@action("support.use_templates", "Only support staff can use response templates.")
def can_use_templates(user) -> bool:
    return is_staff_member(user)


@action("support.edit_templates", "Only support leads may edit response templates.")
def can_edit_templates(user) -> bool:
    return _lead(user)


# --- the ticket -----------------------------------------------------------------------------


@action("support.edit", "Only support staff may edit tickets.")
def can_edit(user, ticket=None) -> bool:
    return is_staff_member(user)


@action("support.change_priority", "Only support staff may change priorities.")
def can_change_priority(user, ticket=None) -> bool:
    return is_staff_member(user)


@action("support.change_status", "Sign in to change a ticket.")
def can_change_status(user, ticket=None) -> bool:
    """Staff along the whole state machine, customers along theirs (`workflow`)."""
    return True


@action("support.work", "Only support staff may do this.")
def can_work(user, ticket=None) -> bool:
    """The staff-only transitions (resolve, wait on the customer)."""
    return is_staff_member(user)


@action("support.close", "Sign in to change a ticket.")
def can_close(user, ticket=None) -> bool:
    """Confirming a resolved ticket: whoever sees it (the customer, their organisation's admin)."""
    return True


@action("support.rate", "Only the ticket's customer can rate it.")
def can_rate(user, ticket=None) -> bool:
    """`user` None is the ticket's contact through an e-mailed link (the help center checked
    the link before calling)."""
    return ticket is None or user is None or ticket.customer_id == user.pk


@action("support.link", "Only support staff may link tickets.")
def can_link(user, ticket=None) -> bool:
    return is_staff_member(user)


@action("support.link_articles", "Only support staff may link articles to tickets.")
def can_link_articles(user, ticket=None) -> bool:
    return is_staff_member(user)


@action("support.merge", "Only support staff may merge tickets.")
def can_merge(user, ticket=None) -> bool:
    return is_staff_member(user)


# --- assignment -----------------------------------------------------------------------------


@action("support.assign", "Only support staff may assign tickets.")
def can_assign(user, ticket=None) -> bool:
    return is_staff_member(user)


@action("support.assign_to", "Agents may assign tickets to themselves or to members of the team.")
def can_assign_to(user, ticket, assignee) -> bool:
    """Leads assign to any active staff member; agents to themselves or a member of the ticket's
    team (a query). Never to a customer or an inactive account."""
    if not is_staff_member(user) or not assignee.is_active or not is_staff_member(assignee):
        return False
    if _lead(user) or assignee.pk == user.pk:
        return True
    return ticket.team_id is not None and assignee.support_teams.filter(pk=ticket.team_id).exists()


@action("support.unassign", "Only support staff may unassign tickets.")
def can_unassign(user, ticket=None) -> bool:
    return is_staff_member(user)


@action("support.claim", "Only support staff may claim tickets.")
def can_claim(user, ticket=None) -> bool:
    return is_staff_member(user)


@action("support.see_agents", "Only support staff see agents and teams.")
def can_see_agents(user) -> bool:
    return is_staff_member(user)


@action("support.change_agent_profiles", "Only support staff may change agent profiles.")
def can_change_agent_profiles(user) -> bool:
    return is_staff_member(user)


@action("support.change_agent_status", "Agents can change only their own status.")
def can_change_agent_status(user, profile=None) -> bool:
    return is_staff_member(user) and (_lead(user) or profile is None or profile.user_id == user.pk)


@action("support.change_agent_capacity", "Only support leads change capacity and skills.")
def can_change_agent_capacity(user, profile=None) -> bool:
    return _lead(user)


@action("support.edit_teams", "Only support leads may change teams and categories.")
def can_edit_teams(user) -> bool:
    return _lead(user)


# --- SLA and escalation ---------------------------------------------------------------------


@action("support.escalate", "Only support staff may escalate tickets.")
def can_escalate(user, ticket=None) -> bool:
    return is_staff_member(user)


@action("support.remind", "Only support staff may send reminders.")
def can_remind(user, ticket=None, target=None) -> bool:
    """An SLA reminder to the assignee or a nudge to the customer."""
    return is_staff_member(user)


@action("support.see_sla", "Only support staff see SLA and escalation policies.")
def can_see_sla(user, ticket=None) -> bool:
    return is_staff_member(user)


@action("support.override_sla", "Only support leads may change a ticket's SLA.")
def can_override_sla(user, ticket=None) -> bool:
    return _lead(user)


@action("support.edit_policies", "Only support leads may change SLA and escalation policies.")
def can_edit_policies(user) -> bool:
    return _lead(user)


# --- who may be picked ----------------------------------------------------------------------
#
# Every input that names a person is resolved inside one of these querysets, so an id outside
# the caller's scope gets exactly the answer of an id that does not exist (`unknown_person`):
# numeric ids are enumerable, and the error must not tell a customer from a missing account.


def active_staff():
    """Active agents, support leads and admins (superusers count as admins)."""
    from core.models import User

    # From the groups to their members, not across every user's groups: a join of all users
    # with their memberships costs 4 ms at 5,000 customers; this reads the staff groups' rows.
    in_staff_group = User.groups.through.objects.filter(
        group__name__in=[str(role) for role in STAFF_ROLES]
    ).values("user_id")
    return User.objects.filter(is_active=True).filter(
        Q(pk__in=in_staff_group) | Q(is_superuser=True)
    )


def pickable_assignees(user, ticket):
    """Whom `user` may assign `ticket` to: the rule of `can_assign_to`, as a queryset."""
    from core.models import User

    if not is_staff_member(user):
        return User.objects.none()
    staff = active_staff()
    if _lead(user):
        return staff
    scope = Q(pk=user.pk)
    if ticket is not None and ticket.team_id is not None:
        scope |= Q(support_teams=ticket.team_id)
    return staff.filter(pk__in=staff.filter(scope).values("pk"))


def pickable_escalation_users(user, ticket, team=None):
    """Who may take an escalated ticket over: active staff who will be able to work it.

    Members of the target team (or, without one, of the ticket's team), support leads and
    admins; a lead escalating may name any active staff member.
    """
    from core.models import User

    if not is_staff_member(user):
        return User.objects.none()
    staff = active_staff()
    if _lead(user):
        return staff
    team_id = team.pk if team is not None else getattr(ticket, "team_id", None)
    scope = Q(groups__name__in=[str(Role.SUPPORT_LEAD), str(Role.ADMIN)]) | Q(is_superuser=True)
    if team_id is not None:
        scope |= Q(support_teams=team_id)
    return staff.filter(pk__in=staff.filter(scope).values("pk"))


def pickable_customers(user):
    """On whose behalf `user` may file a ticket: staff for any active customer account (not a
    staff member), a customer only for themselves."""
    from core.models import User

    if user is None or not user.is_authenticated:
        return User.objects.none()
    if not is_staff_member(user):
        return User.objects.filter(pk=user.pk, is_active=True)
    return User.objects.filter(is_active=True).exclude(pk__in=active_staff().values("pk"))


def unknown_person(field: str, pk) -> DomainError:
    """The refusal of a person outside the caller's scope: word for word DRF's answer for an id
    that does not exist, so the two cannot be told apart."""
    return DomainError(
        "Invalid input.",
        code="does_not_exist",
        errors={field: [f'Invalid pk "{pk}" - object does not exist.']},
    )


# --- what a ticket page offers --------------------------------------------------------------

REMIND_TARGETS = ("assignee", "customer")


def ticket_actions(user, ticket) -> dict:
    """The buttons a ticket page shows: each predicate, and the state that lets it succeed.

    No queries: the predicates used here read the cached roles and the ticket's own fields.
    """
    staff = is_staff_member(user)
    active = ticket.status in ACTIVE_STATUSES
    transitions = allowed_targets(ticket.status, staff=staff)
    remind_targets = [
        target
        for target in REMIND_TARGETS
        if active
        and can_remind(user, ticket, target)
        and (target != "assignee" or ticket.assigned_to_id is not None)
    ]
    return {
        "reply": can_reply(user, ticket) and ticket.status not in FINAL_STATUSES,
        "internal_note": can_write_internal_note(user, ticket),
        "claim": can_claim(user, ticket)
        and ticket.assigned_to_id is None
        and ticket.status not in FINAL_STATUSES,
        "change_status": can_change_status(user, ticket) and bool(transitions),
        "transitions": transitions,
        "escalate": can_escalate(user, ticket) and active,
        "remind": bool(remind_targets),
        "remind_targets": remind_targets,
        "rate": can_rate(user, ticket)
        and (
            ticket.status == Status.RESOLVED
            or (ticket.status == Status.CLOSED and not ticket.satisfaction_rating)
        ),
        "close": can_close(user, ticket) and Status.CLOSED in transitions,
    }


def help_actions(user, ticket) -> dict:
    """The buttons the help center shows on a ticket, for a signed-in user who sees it or
    (`user` None) its contact through an e-mailed link: always the customer's side of the
    state machine. No queries."""
    targets = allowed_targets(ticket.status, staff=False)
    unrated_closed = ticket.status == Status.CLOSED and not ticket.satisfaction_rating
    return {
        "reply": ticket.status not in FINAL_STATUSES,
        "rate": can_rate(user, ticket) and (ticket.status == Status.RESOLVED or unrated_closed),
        "solved": ticket.status in ACTIVE_STATUSES or Status.CLOSED in targets,
        "reopen": Status.IN_PROGRESS in targets,
    }


# --- business rules (triggers and automations) ---------------------------------------------


@action("support.edit_rules", "Only support leads may change triggers and automations.")
def can_edit_rules(user) -> bool:
    """Support leads and admins; a rule acts with its author's rights, so this is re-checked
    each time a rule runs."""
    return _lead(user)
