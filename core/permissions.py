"""Who may do what: one predicate per action, shared by services, the API and the pages.

An app declares its actions in its own `permissions.py`:

    @action("support.escalate", "Only support staff may escalate tickets.")
    def can_escalate(user, ticket=None) -> bool:
        return is_staff_member(user)

The result is still a plain predicate (`can_escalate(user, ticket)` → bool) with two additions:
`can_escalate.require(user, ticket)` raises `NotAllowed` with the action's message (what services
call), and `core.api.permissions.allows(can_escalate)` is the DRF permission class (what viewsets
declare). Templates ask `{% can "support.escalate" ticket as may_escalate %}` (library
`permissions`), or read a dict of booleans a selector computed from the same predicates.

Predicates answer *who*: the role, the ownership, the team. Whether the object's state allows the
action (a closed ticket cannot be escalated) is the domain's own rule and stays a `Conflict` in
its service. Called without the object, a predicate says whether the user may do the action at
all: that is what an API permission class checks before the object is looked up.

Predicates are cheap: roles are cached on the user for the request, and a predicate does at most
a query of its own only where the ownership needs one (said in its docstring).
"""

from collections.abc import Callable
from functools import update_wrapper

from .errors import NotAllowed
from .roles import Role, has_role, is_staff_member

Predicate = Callable[..., bool]


class Action:
    """A named predicate with the message a refusal carries."""

    def __init__(self, name: str, predicate: Predicate, message: str):
        self.name = name
        self.predicate = predicate
        self.message = message
        update_wrapper(self, predicate)

    def __call__(self, user, *objects) -> bool:
        if user is None or not getattr(user, "is_authenticated", False):
            return False
        if not user.is_active:
            return False
        return bool(self.predicate(user, *objects))

    def require(self, user, *objects) -> None:
        """Raise `NotAllowed` (HTTP 403) with the action's message unless the user may."""
        if not self(user, *objects):
            raise NotAllowed(self.message)

    def __repr__(self) -> str:
        return f"<Action {self.name}>"


ACTIONS: dict[str, Action] = {}


def action(name: str, message: str) -> Callable[[Predicate], Action]:
    """Declare an action: decorate its predicate `(user, *objects) -> bool`.

    Anonymous and inactive users are refused before the predicate runs.
    """

    def declare(predicate: Predicate) -> Action:
        declared = Action(name, predicate, message)
        ACTIONS[name] = declared
        return declared

    return declare


def get_action(name: str) -> Action:
    try:
        return ACTIONS[name]
    except KeyError:
        known = ", ".join(sorted(ACTIONS))
        raise LookupError(f"No action {name!r} is declared (known: {known}).") from None


def allowed(name: str, user, *objects) -> bool:
    """The predicate of a declared action, by name (for templates and other late callers)."""
    return get_action(name)(user, *objects)


# --- core's own actions ----------------------------------------------------------------------


@action("core.sign_in_required", "Sign in first.")
def is_signed_in(user) -> bool:
    return True  # Action already refused anonymous and inactive users


@action("core.see_admin", "Only support staff may use the admin.")
def can_see_admin(user) -> bool:
    """Who the admin site admits (`core.admin_site`): the staff flag, or a desk role (agent,
    support lead, admin); what each then sees there is what their role's permissions name."""
    return user.is_staff or is_staff_member(user)


@action("core.see_api_docs", "Sign in to read the API documentation.")
def can_see_api_docs(user) -> bool:
    """The schema and Swagger UI are public; the link is shown to signed-in desk users."""
    return True


@action("core.manage_own_tokens", "Sign in to manage your API tokens.")
def can_manage_own_tokens(user) -> bool:
    return True


@action("core.manage_users", "Only admins manage user accounts.")
def can_manage_users(user) -> bool:
    return has_role(user, Role.ADMIN)


@action("core.work_as_staff", "Only support staff may do this.")
def is_staff(user) -> bool:
    """Agents, support leads and admins (the role check every staff-only action starts from)."""
    return is_staff_member(user)


@action("core.lead", "Only support leads may do this.")
def is_lead(user) -> bool:
    """Support leads and admins."""
    return has_role(user, Role.SUPPORT_LEAD, Role.ADMIN)
