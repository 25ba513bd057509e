"""Who may do what with incidents (`core.permissions`).

Incidents are run by support staff (agents, leads, admins); customers and visitors see only the
public status page. Components and maintenance windows shape what everyone sees there, so
support leads manage them.
"""

from core.permissions import action, is_lead, is_staff


@action("incidents.see", "Only support staff may see incidents.")
def can_see_incidents(user, incident=None) -> bool:
    return is_staff(user)


@action("incidents.run", "Only support staff may run incidents.")
def can_run(user, incident=None) -> bool:
    """Declare, acknowledge, update, move, link tickets."""
    return is_staff(user)


@action("incidents.manage_components", "Only support leads may manage status page components.")
def can_manage_components(user, component=None) -> bool:
    return is_lead(user)
