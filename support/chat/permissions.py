"""Who may do what with chats, one predicate per action (see `core.permissions`).

Visitors are not users: they act through the token their session gave them
(`services.session_for_token`), which opens that one session and no other.
"""

from core.permissions import action
from core.roles import Role, has_role, is_staff_member


@action("chat.work", "Only support staff work chats.")
def can_work_chats(user) -> bool:
    """See the queue and the chats, accept, reply, whisper, end."""
    return is_staff_member(user)


@action("chat.transfer", "Only support staff transfer chats.")
def can_transfer(user, session=None) -> bool:
    return is_staff_member(user)


@action("chat.change_agent_settings", "Only support leads change agents' chat settings.")
def can_change_chat_settings(user, profile=None) -> bool:
    """Whether an agent takes chats and how many at once (`AgentProfile.chat_enabled`,
    `max_concurrent_chats`): a lead's or an admin's call, for anyone's profile."""
    return has_role(user, Role.SUPPORT_LEAD, Role.ADMIN)
