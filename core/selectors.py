"""Reads of the shared kernel that pages, API and tasks share."""

from dataclasses import dataclass, field

from .models import Notification


def unread_notification_count(*, user) -> int:
    cached = getattr(user, "_unread_notification_count", None)
    if cached is None:
        cached = Notification.objects.filter(recipient=user, read_at__isnull=True).count()
        user._unread_notification_count = cached
    return cached


def notifications_for(*, user):
    return Notification.objects.filter(recipient=user).order_by("-created_at")


@dataclass
class NotificationGroup:
    """Notifications about one thing (one page: a ticket, an article), shown as one entry."""

    latest: Notification
    ids: list[int] = field(default_factory=list)
    unread: int = 0

    @property
    def more(self) -> int:
        return len(self.ids) - 1


GROUPED_FROM = 200


def grouped_notifications(*, user, limit: int) -> list[NotificationGroup]:
    """The latest notifications, those about the same page folded into one entry (the newest
    first, with how many more and how many unread): 140 SLA alerts about ten tickets read as
    ten lines. One query over the latest GROUPED_FROM."""
    groups: dict[str, NotificationGroup] = {}
    ordered: list[NotificationGroup] = []
    for notification in notifications_for(user=user)[:GROUPED_FROM]:
        key = notification.url or f"#{notification.pk}"
        group = groups.get(key)
        if group is None:
            if len(ordered) >= limit:
                continue
            group = groups[key] = NotificationGroup(latest=notification)
            ordered.append(group)
        group.ids.append(notification.pk)
        group.unread += notification.read_at is None
    return ordered
