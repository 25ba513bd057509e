"""The suppression list: addresses that bounced hard, complained or were rejected as invalid.

While an address is suppressed no e-mail is sent to it: the outbox row is claimed as usual and
then fails at once with "Suppressed: ..." (`providers.Suppressed`), never retried; in-app
notifications and SMS go on. The check is made when the row is sent, not when it is written, so
a bounce that arrives between the two still stops the next e-mail.

"Until it is confirmed again": the owner of a signed-in account whose address is suppressed
asks for one confirmation e-mail (`request_confirmation`), the only mail that ignores the
suppression; opening its signed link, valid for `EMAIL_CONFIRMATION_MAX_AGE_HOURS`, lifts it
(`confirm`). Staff lift it in the admin (`lift`). A lifted row is kept with who lifted it, when
and how.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.models import DeliveryEvent, EmailSuppression
from core.models.notifications import LiftedBy

from .consent import normalise_address

CONFIRMATION_SALT = "core.email.confirm-again"
# One confirmation e-mail per address and this many seconds, however often the button is pressed.
CONFIRMATION_EVERY_SECONDS = 600


def active_suppression(address: str) -> EmailSuppression | None:
    return EmailSuppression.objects.filter(
        address=normalise_address(address), lifted_at__isnull=True
    ).first()


def is_suppressed(address: str) -> bool:
    return EmailSuppression.objects.filter(
        address=normalise_address(address), lifted_at__isnull=True
    ).exists()


def suppress(
    *, address: str, reason: str, event: DeliveryEvent | None = None, detail: str = ""
) -> EmailSuppression:
    """Put `address` on the list (idempotent: an active suppression is kept as it is)."""
    address = normalise_address(address)
    existing = active_suppression(address)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return EmailSuppression.objects.create(
                address=address, reason=reason, event=event, detail=detail[:2000]
            )
    except IntegrityError:  # suppressed concurrently: the other row stands
        return active_suppression(address)


def lift(*, suppression: EmailSuppression, how: str, by=None) -> bool:
    """Lift an active suppression; True when it was active (a lifted one stays as it was)."""
    lifted = EmailSuppression.objects.filter(pk=suppression.pk, lifted_at__isnull=True).update(
        lifted_at=timezone.now(),
        lifted_how=how,
        lifted_by=by if by is not None and by.is_authenticated else None,
    )
    if lifted:
        suppression.refresh_from_db()
    return bool(lifted)


def confirmation_token(suppression: EmailSuppression) -> str:
    return signing.TimestampSigner(salt=CONFIRMATION_SALT).sign_object(
        {"s": suppression.pk, "a": suppression.address}
    )


def request_confirmation(*, user) -> EmailSuppression | None:
    """Send `user` the confirmation e-mail for their suppressed address; None if not suppressed.

    The outbox key holds the suppression and a ten-minute slot, so pressing the button again
    within `CONFIRMATION_EVERY_SECONDS` sends nothing more.
    """
    from .services import notify_email

    suppression = active_suppression(user.email)
    if suppression is None:
        return None
    url = settings.SITE_URL + reverse("email-confirm", args=[confirmation_token(suppression)])
    context = {
        "user": user,
        "url": url,
        "hours": settings.EMAIL_CONFIRMATION_MAX_AGE_HOURS,
        "suppression": suppression,
    }
    slot = int(timezone.now().timestamp()) // CONFIRMATION_EVERY_SECONDS
    with transaction.atomic():
        notify_email(
            key=f"email-suppression:{suppression.pk}:confirm:{slot}",
            to=suppression.address,
            subject="Confirm your e-mail address",
            body=render_to_string("core/email/confirm_address.txt", context),
            html_body=render_to_string("core/email/confirm_address.html", context),
            user=user,
            ignore_suppression=True,
        )
    return suppression


def confirm(token: str) -> EmailSuppression | None:
    """Lift the suppression a confirmation link names; None for a bad or expired link.

    Opening the link proves that mail reaches the address, which is all the suppression was
    waiting for; it is idempotent (a second opening, or a mail scanner's, changes nothing) and
    the token names one suppression of one address, so it lifts nothing else.
    """
    try:
        data = signing.TimestampSigner(salt=CONFIRMATION_SALT).unsign_object(
            token, max_age=timedelta(hours=settings.EMAIL_CONFIRMATION_MAX_AGE_HOURS)
        )
    except signing.BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict):
        return None
    suppression = EmailSuppression.objects.filter(pk=data.get("s"), address=data.get("a")).first()
    if suppression is None:
        return None
    lift(suppression=suppression, how=LiftedBy.CONFIRMATION)
    return suppression
