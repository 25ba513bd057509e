"""Notifications: e-mail, SMS, Slack, Teams and in-app, each delivered through the outbox.

Other apps use the functions re-exported here (see `services`); delivery itself is in `dispatch`.
"""

from .services import (
    mark_notifications_read,
    notify_email,
    notify_in_app,
    notify_slack,
    notify_sms,
    notify_teams,
)

__all__ = [
    "mark_notifications_read",
    "notify_email",
    "notify_in_app",
    "notify_sms",
    "notify_slack",
    "notify_teams",
]
