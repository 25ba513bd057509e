"""Every write to support data that has a rule. Views, API, admin and tasks call these."""

from .articles import link_article, unlink_article
from .assignment import (
    assign_ticket,
    assign_waiting,
    auto_assign,
    claim_ticket,
    unassign_ticket,
    update_agent_profile,
)
from .messages import add_message, mark_ticket_read
from .satisfaction import rate_ticket
from .tickets import (
    auto_close_resolved,
    cancel_ticket,
    change_priority,
    change_status,
    close_ticket,
    create_ticket,
    link_tickets,
    mark_solved,
    merge_tickets,
    reopen_ticket,
    resolve_ticket,
    update_ticket,
    wait_on_customer,
)

__all__ = [
    "add_message",
    "assign_ticket",
    "assign_waiting",
    "auto_assign",
    "auto_close_resolved",
    "cancel_ticket",
    "change_priority",
    "change_status",
    "claim_ticket",
    "close_ticket",
    "create_ticket",
    "mark_solved",
    "link_article",
    "link_tickets",
    "mark_ticket_read",
    "merge_tickets",
    "rate_ticket",
    "reopen_ticket",
    "resolve_ticket",
    "unassign_ticket",
    "unlink_article",
    "update_agent_profile",
    "update_ticket",
    "wait_on_customer",
]
