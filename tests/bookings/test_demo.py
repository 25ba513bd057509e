import pytest

from bookings.models import Booking, Review
from core.demo import run_seeders

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_booking_in_each_state_and_seeds_once():
    run_seeders(log=lambda line: None)
    states = set(Booking.objects.values_list("status", flat=True))
    assert states == {"scheduled", "in_progress", "pending_completion", "verified"}
    overdue = Booking.objects.get(service="Repair the garage door")
    assert overdue.in_follow_up and overdue.support_ticket is not None
    assert overdue.contact_attempts.count() == 1
    rejected = Booking.objects.get(service="Rewire the desk lamp")
    assert rejected.support_ticket.priority == "high"
    assert Review.objects.count() == 1
    count = Booking.objects.count()
    run_seeders(log=lambda line: None)
    assert Booking.objects.count() == count
