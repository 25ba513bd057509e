# Live chat's tables live with the rest of chat (support/chat/); they are support's models.
from ..chat.models import (
    ChatArchive,
    ChatEvent,
    ChatMessage,
    ChatParticipant,
    ChatSession,
    ChatWidget,
)  # noqa: E402
from .access import TicketAccessLink
from .articles import TicketArticle
from .catalog import Category, ResponseTemplate, Tag
from .escalation import EscalationLevel, EscalationPolicy, EscalationTrigger, TicketEscalation
from .inbound import InboundEmail
from .rules import Rule, RuleEvent, RuleFiring, TriggerRun
from .sla import SLAPolicy
from .teams import AgentProfile, AgentProfileEvent, SavedQueueView, Team
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
    "AgentProfileEvent",
    "Attachment",
    "Category",
    "ChatArchive",
    "ChatEvent",
    "ChatMessage",
    "ChatParticipant",
    "ChatSession",
    "ChatWidget",
    "EscalationLevel",
    "EscalationPolicy",
    "EscalationTrigger",
    "InboundEmail",
    "MessageRecipient",
    "ResponseTemplate",
    "Rule",
    "RuleEvent",
    "RuleFiring",
    "SavedQueueView",
    "SLAPolicy",
    "Tag",
    "Team",
    "Ticket",
    "TicketAccessLink",
    "TicketArticle",
    "TicketEscalation",
    "TicketEvent",
    "TicketLink",
    "TicketMessage",
    "TriggerRun",
]
