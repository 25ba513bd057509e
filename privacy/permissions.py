"""Who may do privacy work: support leads and admins only (`core.permissions`)."""

from core.permissions import action
from core.roles import Role, has_role


def is_privacy_officer(user) -> bool:
    return has_role(user, Role.SUPPORT_LEAD, Role.ADMIN)


@action("privacy.manage", "Only support leads and admins handle privacy requests.")
def can_manage(user, privacy_request=None) -> bool:
    return is_privacy_officer(user)


@action(
    "privacy.confirm",
    "A support lead or admin other than the one who asked confirms a privacy request.",
)
def can_confirm(user, privacy_request=None) -> bool:
    if not is_privacy_officer(user):
        return False
    return privacy_request is None or privacy_request.requested_by_id != user.pk
