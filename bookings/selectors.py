"""Reads that the pages, the API and the jobs share: who sees which bookings, and the queues.

`bookings_for(user)` is the one scoping place: support staff see every booking, technicians the
jobs they are booked for, customers their own, anyone else none. Another customer's booking is
a 404, never a 403.
"""

from django.db.models import Q

from core.roles import is_staff_member

from .models import PUBLIC_KINDS, Booking, BookingEvent, ContactAttempt, Status
from .permissions import is_technician


def _base():
    return Booking.objects.select_related("customer", "technician", "support_ticket", "review")


def bookings_for(user):
    if user is None or not user.is_authenticated or not user.is_active:
        return Booking.objects.none()
    if is_staff_member(user):
        return _base()
    if is_technician(user):
        return _base().filter(technician=user)
    return _base().filter(customer=user)


def latest_first(bookings):
    return bookings.order_by("-scheduled_at", "-pk")


def customer_bookings(user):
    """The bookings `user` is the customer of: what approve, reject and review look up in."""
    return (
        bookings_for(user).filter(customer=user)
        if user.is_authenticated
        else Booking.objects.none()
    )


def technician_jobs(user):
    """The jobs `user` is the technician of: what start and request completion look up in."""
    if not user.is_authenticated:
        return Booking.objects.none()
    return _base().filter(technician=user).order_by("scheduled_at", "pk")


def pending_completion(now=None):
    """Support's queue: completions past their deadline or in follow-up, oldest deadline first."""
    from django.utils import timezone

    now = now or timezone.now()
    return (
        _base()
        .filter(status=Status.PENDING_COMPLETION)
        .filter(Q(completion_deadline__lte=now) | Q(escalated_at__isnull=False))
        .order_by("completion_deadline", "pk")
    )


def events_of(booking, user):
    """The booking's timeline, oldest first; contact attempts are support's only."""
    events = BookingEvent.objects.filter(booking=booking).select_related("actor")
    if not is_staff_member(user):
        events = events.filter(kind__in=PUBLIC_KINDS)
    return events.order_by("created_at", "pk")


def contact_attempts_of(booking):
    return (
        ContactAttempt.objects.filter(booking=booking)
        .select_related("agent")
        .order_by("attempted_at", "pk")
    )


def bookings_of_ticket(ticket):
    """The bookings a support ticket is the rejection or follow-up ticket of (usually one)."""
    return (
        Booking.objects.filter(support_ticket=ticket)
        .select_related("technician")
        .order_by("-pk")[:5]
    )
