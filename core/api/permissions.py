"""Permission classes. The default denies: every view states who may use each action.

Views declare the action predicates of the apps' `permissions.py` through `allows(...)`, so the
API, the services and the pages answer "may they?" with the same function.
"""

from rest_framework.permissions import BasePermission

from core.permissions import Action, is_lead, is_signed_in, is_staff


class DenyAll(BasePermission):
    """The project default, so a view that forgets to declare its permissions serves nobody."""

    def has_permission(self, request, view):
        return False


def allows(*actions: Action, on_object: bool = False) -> type[BasePermission]:
    """A DRF permission class that passes when every predicate holds for the caller.

    The predicates are asked without the object first (may this user do the action at all?);
    with `on_object=True` they are asked again with the object `get_object()` found, which only
    suits predicates whose refusal should come before the request body is even validated.
    """

    class Allows(BasePermission):
        def has_permission(self, request, view):
            return all(check(request.user) for check in actions)

        def has_object_permission(self, request, view, obj):
            return not on_object or all(check(request.user, obj) for check in actions)

    Allows.__name__ = Allows.__qualname__ = "Allows_" + "_".join(
        a.name.replace(".", "_") for a in actions
    )
    return Allows


# The role checks every app starts from, as permission classes (active, signed-in users).
IsAuthenticatedUser = allows(is_signed_in)
IsStaffMember = allows(is_staff)  # agents, support leads and admins
IsSupportLead = allows(is_lead)  # support leads and admins


class ActionPermissions(BasePermission):
    """Per-action rules declared on the view as `action_permissions = {"list": [...], ...}`.

    Each value is a list of permission classes that must all pass; `"*"` is the fallback.
    An action that is not declared is denied.
    """

    def _classes(self, view):
        rules = getattr(view, "action_permissions", {})
        action = getattr(view, "action", None) or view.request.method.lower()
        return rules.get(action, rules.get("*"))

    def has_permission(self, request, view):
        classes = self._classes(view)
        if not classes:
            return False
        return all(cls().has_permission(request, view) for cls in classes)

    def has_object_permission(self, request, view, obj):
        classes = self._classes(view) or []
        return all(cls().has_object_permission(request, view, obj) for cls in classes)
