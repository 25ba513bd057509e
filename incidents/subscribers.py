"""Status page subscribers: double opt-in, components of interest, one-click unsubscribe.

Tokens are signed (`django.core.signing`, a salt per purpose) and name the subscription's id and
nonce: a forged or altered token is refused, a confirmation link expires after
`INCIDENTS_SUBSCRIBE_CONFIRM_HOURS`, and every link of a subscription dies with it (unsubscribing
deletes the row; subscribing again makes a new nonce). Updates reach only confirmed subscribers,
through the outbox, one row per (update, subscriber): a retried post never sends twice.
"""

import secrets

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from core.notifications.consent import normalise_address
from core.notifications.services import notify_email

from .models import IncidentUpdate, MaintenanceUpdate, StatusSubscriber

CONFIRM_SALT = "incidents.subscribe.confirm"
UNSUBSCRIBE_SALT = "incidents.subscribe.unsubscribe"


def _token(subscriber: StatusSubscriber, salt: str) -> str:
    return signing.dumps({"s": subscriber.pk, "n": subscriber.nonce}, salt=salt, compress=True)


def _read(token: str, salt: str, max_age=None) -> StatusSubscriber | None:
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.BadSignature:  # forged, altered or expired (SignatureExpired is one)
        return None
    if not isinstance(data, dict) or not isinstance(data.get("s"), int):
        return None
    return StatusSubscriber.objects.filter(pk=data["s"], nonce=str(data.get("n"))).first()


def unsubscribe_url(subscriber: StatusSubscriber) -> str:
    return settings.SITE_URL + reverse(
        "status-unsubscribe", args=[_token(subscriber, UNSUBSCRIBE_SALT)]
    )


@transaction.atomic
def subscribe(*, email: str, components=()) -> StatusSubscriber:
    """Ask for a subscription: (re)sends the confirmation e-mail; a confirmed subscriber only
    changes their components (no e-mail, so nobody can mail a stranger twice)."""
    address = normalise_address(email)
    subscriber = StatusSubscriber.objects.select_for_update().with_email(address).first()
    if subscriber is None:
        subscriber = StatusSubscriber.objects.create(email=address, nonce=secrets.token_hex(16))
    subscriber.components.set(components)
    if subscriber.confirmed_at is None:
        link = settings.SITE_URL + reverse(
            "status-confirm", args=[_token(subscriber, CONFIRM_SALT)]
        )
        notify_email(
            key=f"status-subscriber:{subscriber.pk}:confirm:{timezone.now().timestamp():.0f}",
            to=address,
            subject="Confirm your status updates",
            body=(
                "Someone (we hope you) asked for e-mail about incidents on our status page.\n\n"
                f"Confirm within {settings.INCIDENTS_SUBSCRIBE_CONFIRM_HOURS} hours: {link}\n\n"
                "If it was not you, ignore this e-mail: nothing will be sent."
            ),
        )
    return subscriber


def confirm(token: str) -> StatusSubscriber | None:
    max_age = settings.INCIDENTS_SUBSCRIBE_CONFIRM_HOURS * 3600
    subscriber = _read(token, CONFIRM_SALT, max_age=max_age)
    if subscriber is not None and subscriber.confirmed_at is None:
        StatusSubscriber.objects.filter(pk=subscriber.pk, confirmed_at__isnull=True).update(
            confirmed_at=timezone.now()
        )
        subscriber.refresh_from_db()
    return subscriber


def subscriber_for_unsubscribe(token: str) -> StatusSubscriber | None:
    return _read(token, UNSUBSCRIBE_SALT)


def unsubscribe(subscriber: StatusSubscriber) -> None:
    StatusSubscriber.objects.filter(pk=subscriber.pk).delete()


def notify_subscribers(update: IncidentUpdate) -> int:
    """E-mail a public update of a public incident to every confirmed subscriber who follows
    one of its components (or all components). Call inside the update's transaction."""
    incident = update.incident
    if not (update.is_public and incident.is_public):
        return 0
    component_ids = list(incident.affected.values_list("component_id", flat=True))
    subscribers = (
        StatusSubscriber.objects.filter(confirmed_at__isnull=False)
        .filter(Q(components__isnull=True) | Q(components__in=component_ids))
        .distinct()
        .order_by("pk")
    )
    page = settings.SITE_URL + reverse("status-incident", args=[incident.number])
    sent = 0
    for subscriber in subscribers:
        body = (
            f"{incident.title}: {update.get_status_display()}\n\n"
            f"{update.body}\n\n{page}\n\n"
            f"Stop these e-mails: {unsubscribe_url(subscriber)}"
        )
        message = notify_email(
            key=f"status-update:{update.pk}:subscriber:{subscriber.pk}",
            to=subscriber.email,
            subject=f"[{update.get_status_display()}] {incident.title}",
            body=body,
            headers={
                "List-Unsubscribe": f"<{unsubscribe_url(subscriber)}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
        sent += message is not None
    return sent


def notify_maintenance_subscribers(update: MaintenanceUpdate) -> int:
    """E-mail a maintenance window's update to every confirmed subscriber who follows one of
    its components (or all components). Call inside the update's transaction."""
    maintenance = update.maintenance
    component_ids = list(maintenance.components.values_list("pk", flat=True))
    subscribers = (
        StatusSubscriber.objects.filter(confirmed_at__isnull=False)
        .filter(Q(components__isnull=True) | Q(components__in=component_ids))
        .distinct()
        .order_by("pk")
    )
    page = settings.SITE_URL + reverse("status-page")
    window = f"{maintenance.starts_at:%d %b %Y, %H:%M} to {maintenance.ends_at:%d %b %Y, %H:%M} UTC"
    sent = 0
    for subscriber in subscribers:
        body = (
            f"Maintenance: {maintenance.title} ({window})\n\n{update.body}\n\n{page}\n\n"
            f"Stop these e-mails: {unsubscribe_url(subscriber)}"
        )
        message = notify_email(
            key=f"maintenance-update:{update.pk}:subscriber:{subscriber.pk}",
            to=subscriber.email,
            subject=f"[Maintenance] {maintenance.title}",
            body=body,
            headers={
                "List-Unsubscribe": f"<{unsubscribe_url(subscriber)}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
        sent += message is not None
    return sent
