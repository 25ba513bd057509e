"""Roles are Django groups. This table says which permissions each role holds.

Permissions are named `app_label.codename`. Apps above `core` add their own entries to
`ROLE_PERMISSIONS` through `register_role_permissions` in their AppConfig.ready(), and
`sync_role_permissions` (run after every migrate) grants whatever exists, so a role's rights live
in one table that the docs print and the tests check.
"""

from collections import defaultdict

from django.db.models import TextChoices


class Role(TextChoices):
    CUSTOMER = "customer", "Customer"
    AGENT = "agent", "Agent"
    SUPPORT_LEAD = "support_lead", "Support lead"
    REVIEWER = "reviewer", "Reviewer"
    TECHNICIAN = "technician", "Technician"
    ADMIN = "admin", "Admin"


STAFF_ROLES = frozenset({Role.AGENT, Role.SUPPORT_LEAD, Role.ADMIN})

ROLE_PERMISSIONS: dict[str, set[str]] = defaultdict(set)
ROLE_PERMISSIONS[Role.ADMIN] |= {
    "core.view_user",
    "core.add_user",
    "core.change_user",
    "core.view_organization",
    "core.add_organization",
    "core.change_organization",
    "core.view_businesscalendar",
    "core.add_businesscalendar",
    "core.change_businesscalendar",
    "core.delete_businesscalendar",
    "core.view_outboxmessage",
}
ROLE_PERMISSIONS[Role.SUPPORT_LEAD] |= {
    "core.view_user",
    "core.view_organization",
    "core.view_businesscalendar",
    "core.add_businesscalendar",
    "core.change_businesscalendar",
    # A calendar's working hours and holidays are edited on its page (admin inlines).
    "core.view_workinginterval",
    "core.add_workinginterval",
    "core.change_workinginterval",
    "core.delete_workinginterval",
    "core.view_holiday",
    "core.add_holiday",
    "core.change_holiday",
    "core.delete_holiday",
}
ROLE_PERMISSIONS[Role.AGENT] |= {"core.view_user", "core.view_organization"}


def register_role_permissions(role: str, permissions: set[str]) -> None:
    ROLE_PERMISSIONS[role] |= set(permissions)


def sync_role_permissions(**kwargs) -> None:
    """Create the role groups and grant them exactly the permissions of the table."""
    from django.contrib.auth.models import Group, Permission

    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        wanted = ROLE_PERMISSIONS.get(role, set())
        by_app: dict[str, list[str]] = defaultdict(list)
        for name in wanted:
            app_label, codename = name.split(".", 1)
            by_app[app_label].append(codename)
        permissions = []
        for app_label, codenames in by_app.items():
            permissions += Permission.objects.filter(
                content_type__app_label=app_label, codename__in=codenames
            )
        if role == Role.ADMIN:
            permissions = list(Permission.objects.all())
        group.permissions.set(permissions)


def user_roles(user) -> frozenset[str]:
    """The role names of a user, cached on the instance for the rest of the request."""
    if not user or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            cached = cached | {Role.ADMIN.value}
        user._role_names = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(user_roles(user) & {str(role) for role in roles})


def is_staff_member(user) -> bool:
    """Agents, support leads and admins: the people who work the desk."""
    return has_role(user, *STAFF_ROLES)
