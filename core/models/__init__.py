from .api import ApiToken, IdempotencyRecord
from .calendars import BusinessCalendar, Holiday, WorkingInterval
from .notifications import Notification, OutboxMessage
from .numbering import NumberCounter
from .users import Organization, User

__all__ = [
    "ApiToken",
    "BusinessCalendar",
    "Holiday",
    "IdempotencyRecord",
    "Notification",
    "NumberCounter",
    "Organization",
    "OutboxMessage",
    "User",
    "WorkingInterval",
]
