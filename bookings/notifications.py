"""What customers, technicians and support are told about a booking: always outbox rows.

Keys name the booking, the completion round and the step (or the reminder's window), so a
retried transaction or a job run twice never sends twice.
"""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.urls import reverse

from core.notifications import notify_email, notify_in_app

from . import links
from .models import Outcome


def customer_url(booking) -> str:
    return settings.SITE_URL + reverse("bookings-help-booking", args=[booking.pk])


def technician_url(booking) -> str:
    return settings.SITE_URL + reverse("bookings-job", args=[booking.pk])


def desk_url(booking) -> str:
    return settings.SITE_URL + reverse("bookings-desk-booking", args=[booking.pk])


def _key(booking, step: str) -> str:
    return f"booking:{booking.pk}:r{booking.completion_round}:{step}"


def _tell(user, *, key: str, subject: str, body: str, url: str, email: bool = True) -> None:
    if user is None or not user.is_active:
        return
    if email and user.email:
        notify_email(
            key=f"{key}:email", to=user.email, user=user, subject=subject, body=f"{body}\n\n{url}"
        )
    notify_in_app(
        key=f"{key}:in-app", user=user, title=subject, body=body.split("\n", 1)[0], url=url
    )


def _deadline(booking) -> str:
    """The deadline in the customer's own time zone (UTC if theirs is unknown)."""
    try:
        zone = ZoneInfo(booking.customer.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = booking.completion_deadline.astimezone(zone)
    return f"{local:%d %B %Y %H:%M} ({zone.key})"


def completion_requested(booking) -> None:
    body = (
        f"{booking.technician.display_name if booking.technician else 'Your technician'} has "
        f"finished the job “{booking.service}” ({booking.number}).\n\n"
        f"Please confirm it by {_deadline(booking)}:\n"
        f"Approve: {links.link_url(booking, 'approve')}\n"
        f"Something is wrong: {links.link_url(booking, 'reject')}\n\n"
        "Your booking:"
    )
    if booking.completion_note:
        body = body.replace("\n\nPlease", f"\n\nTheir note: {booking.completion_note}\n\nPlease", 1)
    _tell(
        booking.customer,
        key=_key(booking, "requested"),
        subject=f"Please confirm the job is done: {booking.service}",
        body=body,
        url=customer_url(booking),
    )


def reminder(booking, window) -> None:
    _tell(
        booking.customer,
        key=f"booking:{booking.pk}:r{booking.completion_round}:reminder:{window:%Y%m%dT%H%M}",
        subject=f"Reminder: please confirm the job “{booking.service}”",
        body=(
            f"We are still waiting for your answer about {booking.number} "
            f"(“{booking.service}”). Please approve or reject it by {_deadline(booking)}; after "
            "that, our support team will contact you.\n\n"
            f"Approve: {links.link_url(booking, 'approve')}\n"
            f"Something is wrong: {links.link_url(booking, 'reject')}"
        ),
        url=customer_url(booking),
    )


def customer_answered(booking, *, approved: bool) -> None:
    if approved:
        subject = f"Job approved: {booking.service} ({booking.number})"
        body = "The customer approved the job; it is verified."
    else:
        subject = f"Job rejected: {booking.service} ({booking.number})"
        body = f"The customer rejected the completion.\n\nTheir reason: {booking.rejection_reason}"
    _tell(
        booking.technician,
        key=_key(booking, "approved" if approved else "rejected"),
        subject=subject,
        body=body,
        url=technician_url(booking),
    )


def escalated(booking) -> None:
    _tell(
        booking.customer,
        key=_key(booking, "escalated"),
        subject=f"Our support team will contact you about {booking.number}",
        body=(
            f"We have not heard whether the job “{booking.service}” was done to your "
            "satisfaction, so our support team will get in touch. You can still answer yourself "
            "on your booking's page."
        ),
        url=customer_url(booking),
    )
    _tell(
        booking.technician,
        key=_key(booking, "escalated:technician"),
        subject=f"Support is following up {booking.number}",
        body="The customer did not answer in time; support is contacting them.",
        url=technician_url(booking),
        email=False,
    )


OUTCOME_WORDS = {
    Outcome.CUSTOMER_CONFIRMED: "The customer confirmed to our support team that the job is done.",
    Outcome.UNREACHABLE: "We could not reach the customer; the job is marked as done.",
    Outcome.DISPUTED: "The customer disputes the job; our support team is handling it.",
    Outcome.AUTO: (
        "We could not reach the customer after several attempts; the job was completed "
        "automatically."
    ),
}


def settled(booking) -> None:
    """Support's outcome, or the automatic completion: the customer and the technician."""
    words = OUTCOME_WORDS[booking.completion_outcome]
    step = f"settled:{booking.completion_outcome}"
    _tell(
        booking.customer,
        key=_key(booking, step),
        subject=f"Your booking {booking.number}: {booking.get_status_display().lower()}",
        body=words,
        url=customer_url(booking),
    )
    _tell(
        booking.technician,
        key=_key(booking, f"{step}:technician"),
        subject=f"{booking.number}: {booking.get_completion_outcome_display().lower()}",
        body=words,
        url=technician_url(booking),
        email=False,
    )


def review_requested(booking) -> None:
    _tell(
        booking.customer,
        key=f"booking:{booking.pk}:review-request",
        subject=f"How did we do? Review “{booking.service}”",
        body=(
            "The job is verified. Tell us how it went: rate it from 1 to 5 on your booking's page."
        ),
        url=customer_url(booking),
    )


def reviewed(booking, review) -> None:
    _tell(
        booking.technician,
        key=f"booking:{booking.pk}:reviewed",
        subject=f"New review for {booking.number}: {review.rating}/5",
        body=review.comment or "No comment.",
        url=technician_url(booking),
        email=False,
    )


def follow_up_due(booking, people, *, key: str) -> None:
    """Nobody tried to reach the customer since the last check: the follow-up's owners."""
    for person in people:
        _tell(
            person,
            key=f"{key}:user:{person.pk}",
            subject=f"Follow up {booking.number}: no contact attempt yet",
            body=(
                f"The customer of {booking.number} (“{booking.service}”) has not confirmed the "
                "job, and nobody has tried to reach them since the last check. Contact them and "
                "log the attempt, or complete the booking with its outcome."
            ),
            url=desk_url(booking),
        )
