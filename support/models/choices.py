from django.db import models


class Priority(models.TextChoices):
    URGENT = "urgent", "P0 Urgent"
    HIGH = "high", "P1 High"
    MEDIUM = "medium", "P2 Medium"
    LOW = "low", "P3 Low"


# Sorting by urgency needs a number: lower is more urgent.
PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.MEDIUM: 2, Priority.LOW: 3}


class Status(models.TextChoices):
    OPEN = "open", "Open"
    ASSIGNED = "assigned", "Assigned"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING_ON_CUSTOMER = "waiting_on_customer", "Waiting on customer"
    WAITING_ON_INTERNAL = "waiting_on_internal", "Waiting on internal"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = frozenset(
    {
        Status.OPEN,
        Status.ASSIGNED,
        Status.IN_PROGRESS,
        Status.WAITING_ON_CUSTOMER,
        Status.WAITING_ON_INTERNAL,
    }
)
FINAL_STATUSES = frozenset({Status.CLOSED, Status.CANCELLED})


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    PHONE = "phone", "Phone"
    CHAT = "chat", "Chat"
    WEB = "web", "Web"
    API = "api", "API"
    INTERNAL = "internal", "Internal"


class SenderType(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    AGENT = "agent", "Agent"
    SYSTEM = "system", "System"
    AI_BOT = "ai_bot", "AI bot"


class AgentStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    AWAY = "away", "Away"
    OFFLINE = "offline", "Offline"


class AssignmentStrategy(models.TextChoices):
    MANUAL = "manual", "Manual"
    ROUND_ROBIN = "round_robin", "Round robin"
    LEAST_LOADED = "least_loaded", "Least loaded"
    SKILL_BASED = "skill_based", "Skill based"


class TemplateChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"
    NOTE = "note", "Internal note"


class LinkKind(models.TextChoices):
    RELATED = "related", "Related"
    FOLLOW_UP = "follow_up", "Follow-up of"
    MERGED_INTO = "merged_into", "Merged into"
