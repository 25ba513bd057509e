"""Who may do what with insurance documents (`core.permissions`).

Owners are the people who send proof of their insurance: customers and providers, i.e. signed-in
accounts without a working role. Reviewers (and admins) see and decide every document. Agents,
support leads and technicians have no part in it: insurance is not their work, and a
technician's visits never need someone's policy.
"""

from core.permissions import action
from core.roles import Role, has_role

WORKING_ROLES = (Role.AGENT, Role.SUPPORT_LEAD, Role.REVIEWER, Role.TECHNICIAN, Role.ADMIN)


def is_reviewer(user) -> bool:
    return has_role(user, Role.REVIEWER, Role.ADMIN)


def is_owner_kind(user) -> bool:
    """A customer or provider account: no working role."""
    return not has_role(user, *WORKING_ROLES)


@action("insurance.use", "Insurance documents are for their owners and the reviewers.")
def can_use_insurance(user) -> bool:
    return is_reviewer(user) or is_owner_kind(user)


@action("insurance.submit", "Only customers and providers submit insurance documents.")
def can_submit(user) -> bool:
    return is_owner_kind(user)


@action("insurance.own", "Only the document's owner may do this.")
def can_act_as_owner(user, document=None) -> bool:
    """Replacing and answering requests: the owner alone (no query: the owner id is on the row)."""
    if document is None:
        return is_owner_kind(user)
    return document.owner_id == user.pk


@action("insurance.review", "Only reviewers may review insurance documents.")
def can_review(user, document=None) -> bool:
    return is_reviewer(user)


@action("insurance.update", "Only the document's owner or a reviewer may change it.")
def can_update(user, document=None) -> bool:
    if document is None:
        return is_reviewer(user) or is_owner_kind(user)
    return is_reviewer(user) or document.owner_id == user.pk


@action("insurance.export", "Only reviewers may export the audit trail.")
def can_export(user) -> bool:
    return is_reviewer(user)
