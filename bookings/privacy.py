"""What bookings hold about a person (`core.privacy`): their bookings (as customer), the
contact attempts support made, and their reviews.

Erasure keeps each booking with its times and outcome (follow-up figures) and clears the
address, notes and review comment; the rating stays.
"""

from core import privacy
from core.privacy_parts import scrub_events

from .models import Booking, BookingEvent, ContactAttempt, Review


def _bookings(subject):
    if not subject.user_id:
        return Booking.objects.none()
    return Booking.objects.filter(customer_id=subject.user_id)


def export(subject: privacy.Subject, archive: privacy.Archive) -> None:
    bookings = list(_bookings(subject).order_by("pk"))
    ids = [b.pk for b in bookings]
    numbers = {b.pk: b.number for b in bookings}
    archive.add(
        "bookings",
        [
            {
                "number": b.number,
                "service": b.service,
                "location": b.location,
                "scheduled_at": privacy.iso(b.scheduled_at),
                "status": b.status,
                "completion_note": b.completion_note,
                "rejection_reason": b.rejection_reason,
                "completed_at": privacy.iso(b.completed_at),
                "outcome": b.completion_outcome,
            }
            for b in bookings
        ],
    )
    archive.add(
        "booking_contact_attempts",
        [
            {
                "booking": numbers[c.booking_id],
                "method": c.method,
                "reached": c.reached,
                "notes": c.notes,
                "at": privacy.iso(c.attempted_at),
            }
            for c in ContactAttempt.objects.filter(booking_id__in=ids).order_by("pk")
        ],
    )
    archive.add(
        "booking_reviews",
        [
            {
                "booking": numbers[r.booking_id],
                "rating": r.rating,
                "comment": r.comment,
                "at": privacy.iso(r.created_at),
            }
            for r in Review.objects.filter(booking_id__in=ids).order_by("pk")
        ],
    )


def _held(subject: privacy.Subject, holds: privacy.Holds) -> list[str]:
    held = (
        _bookings(subject)
        .filter(support_ticket__isnull=False)
        .filter(holds.held_filter("support_ticket__"))
    )
    return [
        f"booking {n} belongs to a held ticket" for n in held.values_list("number", flat=True)[:20]
    ]


def erase(subject: privacy.Subject, holds: privacy.Holds) -> dict[str, int]:
    bookings = _bookings(subject)
    ids = list(bookings.values_list("pk", flat=True))
    done = {
        "bookings": Booking.objects.filter(pk__in=ids).update(
            location="", completion_note=privacy.ERASED, rejection_reason=""
        ),
        "booking_contact_attempts": ContactAttempt.objects.filter(booking_id__in=ids).update(
            notes=""
        ),
        "booking_reviews": Review.objects.filter(booking_id__in=ids).update(comment=""),
        "booking_events": scrub_events(BookingEvent.objects.filter(booking_id__in=ids), subject),
    }
    if subject.user_id:
        # As technician or follow-up agent: their notes keep their text without their name.
        attempts = ContactAttempt.objects.filter(agent_id=subject.user_id)
        attempts = attempts.exclude(booking_id__in=ids)
        privacy.scrub_rows(attempts, ("notes",), subject)
    return done


def register() -> None:
    privacy.register(
        privacy.Part(
            name="bookings",
            models=(
                "bookings.Booking",
                "bookings.BookingEvent",
                "bookings.ContactAttempt",
                "bookings.Review",
            ),
            export=export,
            erase=erase,
            blocks=_held,
        )
    )
    privacy.exempt("bookings.FollowUpCheck", "scheduled work: ids and times only")
