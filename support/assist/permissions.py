"""Who may use AI assist (see `core.permissions`)."""

from core.permissions import action
from core.roles import Role, has_role, is_staff_member


@action("assist.see_suggestions", "Only support staff see AI suggestions.")
def can_see_suggestions(user, ticket=None) -> bool:
    return is_staff_member(user)


@action("assist.see_usage", "Only support leads see AI usage and model reports.")
def can_see_usage(user) -> bool:
    return has_role(user, Role.SUPPORT_LEAD, Role.ADMIN)


@action("assist.query", "Sign in to ask the assistant.")
def can_query(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))
