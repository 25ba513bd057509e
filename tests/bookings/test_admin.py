import pytest
from django.test import Client

from bookings.models import Booking
from core.roles import Role
from support.models import Ticket
from tests.factories import UserFactory

from .factories import pending

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_agent(db):
    return UserFactory(roles=[Role.AGENT], is_staff=True)


def test_staff_read_bookings_in_the_admin_and_change_nothing_by_hand(
    customer, technician, staff_agent
):
    booking = pending(customer, technician)
    client = Client()
    client.force_login(staff_agent)
    listing = client.get("/admin/bookings/booking/")
    assert listing.status_code == 200 and booking.number in listing.content.decode()
    page = client.get(f"/admin/bookings/booking/{booking.pk}/change/")
    assert page.status_code == 200 and "Completion requested" in page.content.decode()
    assert client.get("/admin/bookings/booking/add/").status_code == 403
    client.post(f"/admin/bookings/booking/{booking.pk}/change/", {"status": "verified"})
    booking.refresh_from_db()
    assert booking.status == "pending_completion"


def test_the_admin_action_starts_the_follow_up_through_the_service(
    customer, technician, staff_agent
):
    booking = pending(customer, technician)
    client = Client()
    client.force_login(staff_agent)
    response = client.post(
        "/admin/bookings/booking/",
        {"action": "start_follow_up", "_selected_action": [booking.pk]},
        follow=True,
    )
    assert "Follow-up started for 1 booking(s)." in response.content.decode()
    booking.refresh_from_db()
    assert booking.in_follow_up and Ticket.objects.count() == 1
    assert booking.events.filter(kind="escalated", actor=staff_agent).exists()


def test_customers_have_no_admin(customer, technician):
    pending(customer, technician)
    client = Client()
    client.force_login(customer)
    assert client.get("/admin/bookings/booking/").status_code in (302, 403)
    assert Booking.objects.count() == 1
