"""Bookings in each state, made through the services (so each carries its events)."""

import datetime as dt

from django.utils import timezone

from bookings import services
from core.roles import Role
from tests.factories import UserFactory


def staff():
    return UserFactory(roles=[Role.AGENT])


def booked(customer, technician=None, *, by=None, service="Boiler service", **fields):
    return services.create_booking(
        by=by or staff(),
        customer=customer,
        technician=technician,
        service=service,
        location=fields.pop("location", "12 Elm Street"),
        scheduled_at=fields.pop("scheduled_at", timezone.now() + dt.timedelta(days=1)),
    )


def in_progress(customer, technician, **fields):
    return services.start(booking=booked(customer, technician, **fields), by=technician)


def pending(customer, technician, **fields):
    booking = in_progress(customer, technician, **fields)
    return services.request_completion(booking=booking, by=technician, note="Replaced the valve.")


def verified(customer, technician, **fields):
    return services.approve(booking=pending(customer, technician, **fields), by=customer)
