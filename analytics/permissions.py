"""Who sees which analytics: staff only; leads and admins everything, agents their own figures
and their teams'. Customers see none (the API answers 403, the desk page 404 as for any desk
page a customer asks for)."""

from dataclasses import dataclass

from core.permissions import action
from core.roles import Role, has_role, is_staff_member


@action("analytics.see", "Only support staff see analytics.")
def can_see_analytics(user) -> bool:
    return is_staff_member(user)


@action("analytics.see_all", "Only support leads see every team's analytics.")
def can_see_all_analytics(user) -> bool:
    return has_role(user, Role.SUPPORT_LEAD, Role.ADMIN)


@dataclass(frozen=True)
class Scope:
    """Which rollup rows a viewer may read: all, or those of these teams or this agent."""

    all: bool
    team_ids: frozenset = frozenset()
    agent_id: int | None = None

    def admits(self, team_id: int, agent_id: int) -> bool:
        return self.all or team_id in self.team_ids or (agent_id and agent_id == self.agent_id)


def scope_for(user) -> Scope:
    can_see_analytics.require(user)
    if can_see_all_analytics(user):
        return Scope(all=True)
    return Scope(
        all=False,
        team_ids=frozenset(user.support_teams.values_list("pk", flat=True)),
        agent_id=user.pk,
    )
