from .catalog import Category, ResponseTemplate, Tag
from .sla import SLAPolicy
from .teams import AgentProfile, Team
from .tickets import (
    Attachment,
    MessageRecipient,
    Ticket,
    TicketEvent,
    TicketLink,
    TicketMessage,
)

__all__ = [
    "AgentProfile",
    "Attachment",
    "Category",
    "MessageRecipient",
    "ResponseTemplate",
    "SLAPolicy",
    "Tag",
    "Team",
    "Ticket",
    "TicketEvent",
    "TicketLink",
    "TicketMessage",
]
