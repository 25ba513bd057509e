"""The reminders: when they fall due, and what the scheduled-work sweeper does with one.

Expiry reminders go out 7 days, 3 days and 0 days before the last covered day, at
`INSURANCE_REMINDER_HOUR` in the owner's own time zone. Their keys name the end date, so a
corrected end date schedules new rows instead of finding the old, cancelled ones. A reminder
whose moment has passed by approval time is not scheduled (a document approved two days before
it lapses gets the "today" one only).

Missing-information reminders go out every `INSURANCE_MISSING_INFO_INTERVAL_DAYS` while the
checklist is open, at most `INSURANCE_MISSING_INFO_MAX_REMINDERS` per request: each one sent
schedules the next.

The sweeper (`core.scheduling`) runs `send_due_reminder` inside the transaction that marks the
row done, so the e-mail (an outbox row keyed by the reminder) and the `reminder_sent` activity
commit with it, once, whatever redelivery or concurrent sweeps happen.
"""

import zoneinfo
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from core import scheduling
from core.audit import record
from core.scheduling import WorkState

from . import notifications
from .models import (
    EXPIRY_KINDS,
    ActivityKind,
    DocumentActivity,
    InfoRequest,
    InsuranceDocument,
    Reminder,
    ReminderKind,
    Status,
)

DAYS_BEFORE = {ReminderKind.EXPIRY_7D: 7, ReminderKind.EXPIRY_3D: 3, ReminderKind.EXPIRY_0D: 0}


def owner_zone(document) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(document.owner.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def owner_today(document, *, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(owner_zone(document)).date()


def expiry_due_at(document, kind) -> datetime:
    day = document.coverage_end - timedelta(days=DAYS_BEFORE[kind])
    return datetime.combine(
        day, time(settings.INSURANCE_REMINDER_HOUR), tzinfo=owner_zone(document)
    )


def schedule_expiry(document) -> list[Reminder]:
    """The expiry reminders still ahead of now, scheduled (idempotent by key)."""
    now = timezone.now()
    scheduled = []
    for kind in EXPIRY_KINDS:
        due_at = expiry_due_at(document, kind)
        if due_at <= now:
            continue
        scheduled.append(
            scheduling.schedule(
                Reminder,
                key=f"insurance:{document.pk}:{kind}:{document.coverage_end.isoformat()}",
                due_at=due_at,
                document=document,
                kind=kind,
            )
        )
    return scheduled


def schedule_missing_info(request: InfoRequest, *, sequence: int) -> Reminder | None:
    if sequence > settings.INSURANCE_MISSING_INFO_MAX_REMINDERS:
        return None
    return scheduling.schedule(
        Reminder,
        key=f"insurance:{request.document_id}:request:{request.pk}:missing-info:{sequence}",
        due_at=timezone.now() + timedelta(days=settings.INSURANCE_MISSING_INFO_INTERVAL_DAYS),
        document_id=request.document_id,
        info_request=request,
        kind=ReminderKind.MISSING_INFO,
        sequence=sequence,
    )


def next_reminder(document) -> Reminder | None:
    """The next reminder that will go out for `document`, if any."""
    return (
        Reminder.objects.filter(document=document, state__in=scheduling.IN_FLIGHT)
        .order_by("due_at", "pk")
        .first()
    )


def next_manual_reminder_at(document) -> datetime | None:
    """From when a reviewer may send another reminder: the cooldown after the last one sent or
    asked for (None: never reminded)."""
    cooldown = timedelta(hours=settings.INSURANCE_REMINDER_COOLDOWN_HOURS)
    sent = DocumentActivity.objects.filter(document=document, kind=ActivityKind.REMINDER_SENT)
    last_sent = sent.aggregate(at=Max("created_at"))["at"]
    asked = Reminder.objects.filter(document=document, manual=True)
    # A manual reminder is due the moment it is asked for.
    last_asked = asked.exclude(state=WorkState.CANCELLED).aggregate(at=Max("due_at"))["at"]
    last = max((at for at in (last_sent, last_asked) if at is not None), default=None)
    return last + cooldown if last is not None else None


def send_due_reminder(reminder: Reminder) -> None:
    """The sweeper's handler: e-mail the owner and record it, unless the reminder is moot."""
    document = (
        InsuranceDocument.objects.select_for_update()
        .select_related("owner")
        .get(pk=reminder.document_id)
    )
    if reminder.kind == ReminderKind.MISSING_INFO:
        request = reminder.info_request
        if (
            document.status != Status.INFO_REQUESTED
            or request is None
            or request.fulfilled_at is not None
        ):
            return
        outstanding = list(request.items.filter(fulfilled_at__isnull=True))
        notifications.missing_info_reminder(document, reminder, outstanding)
    else:
        if document.status != Status.APPROVED:
            return
        notifications.expiry_reminder(document, reminder)
    record(
        DocumentActivity,
        kind=ActivityKind.REMINDER_SENT,
        document=document,
        after={"kind": reminder.kind, "to": document.owner.email},
        metadata={
            "reminder": reminder.pk,
            "attempt": reminder.attempts,
            "manual": reminder.manual,
        },
    )
    if reminder.kind == ReminderKind.MISSING_INFO and not reminder.manual:
        schedule_missing_info(request, sequence=reminder.sequence + 1)
