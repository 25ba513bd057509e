"""Reads of live chat that pages share."""

import datetime as dt

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q
from django.utils import timezone

from .models import ChatSession, SessionStatus


def _seconds(value) -> float | None:
    return value.total_seconds() if value is not None else None


def chat_sla(*, now=None) -> dict:
    """The chats' own SLA for the desk dashboard: today's and this week's chats (offline
    messages aside), how many an agent took, the mean time to accept and to the first agent
    reply; and who waits now. One aggregate query per period, one count."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    week = today - dt.timedelta(days=today.weekday())
    periods = []
    for label, since in (("Today", today), ("This week", week)):
        row = (
            ChatSession.objects.filter(started_at__gte=since)
            .exclude(status=SessionStatus.OFFLINE)
            .aggregate(
                started=Count("pk"),
                accepted=Count("pk", filter=Q(accepted_at__isnull=False)),
                to_accept=Avg(
                    ExpressionWrapper(F("accepted_at") - F("started_at"), DurationField())
                ),
                to_reply=Avg(
                    ExpressionWrapper(F("first_agent_reply_at") - F("started_at"), DurationField())
                ),
            )
        )
        periods.append(
            {
                "label": label,
                "started": row["started"],
                "accepted": row["accepted"],
                "to_accept_s": _seconds(row["to_accept"]),
                "to_reply_s": _seconds(row["to_reply"]),
            }
        )
    waiting = ChatSession.objects.filter(status=SessionStatus.QUEUED).count()
    return {"periods": periods, "waiting": waiting}
