"""Reads of the shared kernel that pages, API and tasks share."""

from .models import Notification


def unread_notification_count(*, user) -> int:
    cached = getattr(user, "_unread_notification_count", None)
    if cached is None:
        cached = Notification.objects.filter(recipient=user, read_at__isnull=True).count()
        user._unread_notification_count = cached
    return cached


def notifications_for(*, user):
    return Notification.objects.filter(recipient=user).order_by("-created_at")
