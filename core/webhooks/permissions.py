"""Who manages webhooks: admins (a webhook sends data out of the platform)."""

from core.permissions import action
from core.roles import Role, has_role


@action("core.manage_webhooks", "Only admins manage webhooks.")
def can_manage_webhooks(user) -> bool:
    return has_role(user, Role.ADMIN)
