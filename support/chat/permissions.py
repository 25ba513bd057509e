"""Who may do what with chats, one predicate per action (see `core.permissions`).

Visitors are not users: they act through the token their session gave them
(`services.session_for_token`), which opens that one session and no other.
"""

from core.permissions import action
from core.roles import is_staff_member


@action("chat.work", "Only support staff work chats.")
def can_work_chats(user) -> bool:
    """See the queue and the chats, accept, reply, whisper, end."""
    return is_staff_member(user)


@action("chat.transfer", "Only support staff transfer chats.")
def can_transfer(user, session=None) -> bool:
    return is_staff_member(user)
