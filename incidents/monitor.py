"""The target watch (beat, every minute): marks breached response and resolution targets and
tells the commander and the on-duty support leads, once per incident and target.

A target is breached when its due time passes before the incident is acknowledged (response)
or resolved (resolution). The mark is a conditional update (`... WHERE breached_at IS NULL`),
so two watches running at once, or a redelivered task, mark and notify once; the outbox keys
(`incident:<id>:<target>-breached:<user>:<channel>`) make a retried notification harmless too.
Far-future work lives in the due columns (partial indexes hold only the unmarked rows), not in
countdown tasks.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from core import audit
from core.notifications.services import notify_email, notify_in_app, notify_sms
from support.notifications import on_duty_leads

from .models import ACTIVE_STATUSES, Incident, IncidentEvent, Severity

BATCH = 200
TARGETS = {
    # target: (due column, breach column, what stops the clock, event kind)
    "response": ("response_due_at", "response_breached_at", "acknowledged_at",
                 IncidentEvent.Kind.RESPONSE_BREACHED),
    "resolution": ("resolution_due_at", "resolution_breached_at", "resolved_at",
                   IncidentEvent.Kind.RESOLUTION_BREACHED),
}  # fmt: skip


@dataclass
class Watch:
    response: int = 0
    resolution: int = 0


def _due(target: str, now):
    due, breached, stopped, _ = TARGETS[target]
    return (
        Incident.objects.filter(
            **{f"{due}__lte": now, f"{breached}__isnull": True, f"{stopped}__isnull": True},
            status__in=ACTIVE_STATUSES,
        )
        .order_by(due, "pk")
        .values_list("pk", flat=True)[:BATCH]
    )


def check_targets(*, now=None) -> Watch:
    now = now or timezone.now()
    watch = Watch()
    leads = None
    for target in TARGETS:
        for pk in list(_due(target, now)):
            with transaction.atomic():
                if leads is None:
                    leads = on_duty_leads()
                if _mark(pk, target, now, leads):
                    setattr(watch, target, getattr(watch, target) + 1)
    return watch


def _mark(pk: int, target: str, now, leads) -> bool:
    due, breached, stopped, kind = TARGETS[target]
    marked = Incident.objects.filter(
        pk=pk,
        status__in=ACTIVE_STATUSES,
        **{f"{breached}__isnull": True, f"{stopped}__isnull": True},
    ).update(**{breached: now})
    if not marked:
        return False  # another watch got there first, or it was acknowledged/resolved meanwhile
    incident = Incident.objects.select_related("commander").get(pk=pk)
    after = {breached: now.isoformat(), "due": getattr(incident, due).isoformat()}
    audit.record(IncidentEvent, incident=incident, kind=kind, at=now, after=after)
    _notify(incident, target, leads)
    return True


def _notify(incident: Incident, target: str, leads) -> None:
    people = {user.pk: user for user in leads}
    if incident.commander_id and incident.commander.is_active:
        people[incident.commander_id] = incident.commander
    title = f"{incident.number} missed its {target} target"
    body = (
        f"{incident.title} ({incident.get_severity_display()}) was due to be "
        f"{'acknowledged' if target == 'response' else 'resolved'} by "
        f"{getattr(incident, TARGETS[target][0]):%Y-%m-%d %H:%M} UTC."
    )
    for pk, user in sorted(people.items()):
        key = f"incident:{incident.pk}:{target}-breached:{pk}"
        notify_in_app(key=f"{key}:in-app", user=user, title=title, body=body)
        if user.email:
            notify_email(key=f"{key}:email", to=user.email, subject=title, body=body, user=user)
        if incident.severity == Severity.CRITICAL and user.phone:
            notify_sms(key=f"{key}:sms", to=user.phone, body=title, user=user)
