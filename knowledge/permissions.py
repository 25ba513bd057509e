"""Who may do what with articles (`core.permissions`)."""

from core.permissions import action, is_lead, is_staff
from core.workflow import STAFF

from .workflow import EDITOR


def party_of(user) -> str:
    return EDITOR if is_lead(user) else STAFF


@action("knowledge.see_internal", "Internal articles and drafts are for staff only.")
def can_see_unpublished(user, article=None) -> bool:
    return is_staff(user)


@action("knowledge.write", "Only support staff may write articles.")
def can_write(user, article=None) -> bool:
    return is_staff(user)


@action("knowledge.publish", "Only support leads may publish or archive articles.")
def can_publish(user, article=None) -> bool:
    return is_lead(user)


@action("knowledge.see_unanswered", "Only support staff may see unanswered searches.")
def can_see_unanswered(user) -> bool:
    return is_staff(user)


@action("knowledge.see_insights", "Only support staff may see the knowledge base's figures.")
def can_see_insights(user) -> bool:
    """Leads and authors (any staff member writes articles)."""
    return is_staff(user)
