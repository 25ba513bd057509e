"""Bookings in a real browser: the technician asks for completion, the customer approves and
reviews on "My bookings", support works the pending-completion queue and logs a contact
attempt; under the site's Content-Security-Policy."""

import datetime as dt
import os

import pytest
from django.utils import timezone

from bookings import services
from bookings.models import Booking, Status
from tests.factories import UserFactory
from tests.support.factories import make_default_sla_policies

from .test_pages_in_chromium import SCREENSHOTS, browser, sign_in, watch_for_csp_violations

__all__ = ["browser"]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
]


def shot(page, name):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, f"bookings-{name}.png"), full_page=True)


def test_request_approve_review_and_follow_up(browser, live_server):
    make_default_sla_policies()
    customer = UserFactory(roles=["customer"], email="cora@example.com", full_name="Cora Customer")
    technician = UserFactory(roles=["technician"], email="ted@example.com", full_name="Ted Tech")
    agent = UserFactory(roles=["agent"], email="avery@example.com", full_name="Avery Agent")
    soon = timezone.now() + dt.timedelta(hours=1)

    def book(service):
        return services.create_booking(by=agent, customer=customer, technician=technician,
                                       service=service, location="12 Elm Street",
                                       scheduled_at=soon)  # fmt: skip

    boiler = services.start(booking=book("Boiler service"), by=technician)
    garage = services.request_completion(
        booking=services.start(booking=book("Garage door repair"), by=technician), by=technician
    )
    services.initiate_follow_up(booking=garage, by=agent)
    book("Gutter cleaning")

    reports: list[str] = []
    tech = sign_in(browser, live_server, "ted@example.com")
    watch_for_csp_violations(tech, reports)
    tech.goto(f"{live_server.url}/help/")
    tech.click("nav >> text=My jobs")
    tech.wait_for_load_state()
    tech.click("text=Boiler service")
    tech.wait_for_load_state()
    tech.fill("#id_note", "Replaced the valve and bled the radiators.")
    tech.click("button:has-text('Request completion')")
    tech.wait_for_load_state()
    assert "The customer has been asked to confirm the job." in tech.content()

    page = sign_in(browser, live_server, "cora@example.com")
    watch_for_csp_violations(page, reports)
    page.goto(f"{live_server.url}/help/")
    page.click("nav >> text=My bookings")
    page.wait_for_load_state()
    assert page.locator("text=Confirm the job").count() == 2
    shot(page, "help-list")
    page.click("text=Boiler service")
    page.wait_for_load_state()
    assert "Replaced the valve and bled the radiators." in page.content()
    page.click("button:has-text('Yes, approve the job')")
    page.wait_for_load_state()
    assert "Thank you: the job is confirmed." in page.content()
    page.select_option("#id_rating", "5")
    page.fill("#id_comment", "On time and tidy.")
    page.click("button:has-text('Send the review')")
    page.wait_for_load_state()
    assert "Thank you for your review." in page.content() and "5 of 5" in page.content()
    shot(page, "help-booking")

    desk = sign_in(browser, live_server, "avery@example.com")
    watch_for_csp_violations(desk, reports)
    desk.goto(f"{live_server.url}/desk/")
    desk.click("nav >> text=Bookings")
    desk.wait_for_load_state()
    assert garage.number in desk.content() and "Boiler service" not in desk.content()
    shot(desk, "desk-queue")
    desk.click(f"text={garage.number}")
    desk.wait_for_load_state()
    desk.select_option("#id_contact-method", "call")
    desk.select_option("#id_contact-reached", "no")
    desk.fill("#id_contact-notes", "Voicemail; will try again tomorrow.")
    desk.click("button:has-text('Log the attempt')")
    desk.wait_for_load_state()
    assert "Contact attempt logged." in desk.content()
    assert "Voicemail; will try again tomorrow." in desk.content()
    shot(desk, "desk-booking")

    boiler.refresh_from_db()
    assert boiler.status == Status.VERIFIED and boiler.review.rating == 5
    assert Booking.objects.get(pk=garage.pk).failed_contact_attempts == 1
    assert not reports, reports
