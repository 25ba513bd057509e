"""Demo bookings for `make run`: one in each state, made through the services (so each has its
record, tickets and notifications). Idempotent: nothing is added once bookings exist."""

import datetime as dt

from django.utils import timezone

from core.models import User

from . import services
from .models import Booking

TECHNICIAN = "tom@example.com"
LEAD = "lead@example.com"
AGENT = "alice@example.com"

# (customer, service, location, days from now, what happens)
BOOKINGS = [
    ("road@acme.example", "Annual boiler service", "1 Canyon Road, Phoenix", 2, "scheduled"),
    ("peter@initech.example", "Replace the kitchen tap", "4120 Freidrich Ln, Austin", 0, "started"),
    ("wile@acme.example", "Install a smart thermostat", "7 Mesa Drive, Phoenix", -1, "pending"),
    ("hank@globex.example", "Repair the garage door", "1 Cypress Creek", -4, "overdue"),
    ("fran@hobby.example", "Fix the leaking radiator", "12 rue des Ateliers, Paris", -6,
     "reviewed"),
    ("milton@initech.example", "Rewire the desk lamp", "Basement, Initech", -2, "rejected"),
    ("wile@acme.example", "Clean the gutters", "7 Mesa Drive, Phoenix", -8, "verified"),
]  # fmt: skip


def seed_bookings() -> None:
    if Booking.objects.exists():
        return
    people = {u.email: u for u in User.objects.filter(email__in=[TECHNICIAN, LEAD, AGENT])}
    technician, lead, agent = people.get(TECHNICIAN), people.get(LEAD), people.get(AGENT)
    if not (technician and lead and agent):
        return
    now = timezone.now()
    for email, service, location, days, step in BOOKINGS:
        customer = User.objects.with_email(email).first()
        if customer is None:
            continue
        booking = services.create_booking(
            by=lead,
            customer=customer,
            technician=technician,
            service=service,
            location=location,
            scheduled_at=(now + dt.timedelta(days=days)).replace(minute=0, second=0, microsecond=0),
        )
        if step == "scheduled":
            continue
        booking = services.start(booking=booking, by=technician)
        if step == "started":
            continue
        booking = services.request_completion(
            booking=booking, by=technician, note="Done; tested and tidied up."
        )
        if step == "overdue":
            # The demo's customer stayed silent past the deadline: move it into the past, as the
            # hours would have, then let the hourly job escalate it.
            past = now - dt.timedelta(hours=2)
            Booking.objects.filter(pk=booking.pk).update(completion_deadline=past)
            services.escalate_overdue()
            services.log_contact_attempt(
                booking=booking, by=agent, method="call", reached=False, notes="No answer."
            )
        elif step == "rejected":
            services.reject(booking=booking, by=customer, reason="The lamp still flickers.")
        elif step in ("verified", "reviewed"):
            services.approve(booking=booking, by=customer, feedback="Thank you!")
            if step == "reviewed":
                services.leave_review(
                    booking=booking, by=customer, rating=5, comment="Quick, friendly and tidy."
                )
