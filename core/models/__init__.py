from .api import ApiToken, IdempotencyRecord
from .calendars import BusinessCalendar, Holiday, WorkingInterval
from .notifications import (
    DeliveryEvent,
    EmailOptOut,
    EmailSuppression,
    Notification,
    OutboxMessage,
)
from .numbering import NumberCounter
from .users import Organization, User
from .webhooks import WebhookDelivery, WebhookSubscription

__all__ = [
    "ApiToken",
    "BusinessCalendar",
    "DeliveryEvent",
    "EmailOptOut",
    "EmailSuppression",
    "Holiday",
    "IdempotencyRecord",
    "Notification",
    "NumberCounter",
    "Organization",
    "OutboxMessage",
    "User",
    "WebhookDelivery",
    "WebhookSubscription",
    "WorkingInterval",
]
