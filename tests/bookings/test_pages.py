import re
import time
from unittest import mock

import pytest
from django.core import signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bookings import links, services
from bookings.models import Booking, ContactAttempt, Outcome, Status
from core.models import OutboxMessage
from support.models import Ticket
from tests.factories import UserFactory

from .factories import booked, in_progress, pending, verified

pytestmark = pytest.mark.django_db


def browser(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def emailed_links(customer):
    body = OutboxMessage.objects.filter(channel="email", recipient=customer.email).first().body
    approve = re.search(r"Approve: \S+(/help/bookings/answer/[^/\s]+/)", body).group(1)
    reject = re.search(r"Something is wrong: \S+(/help/bookings/answer/[^/\s]+/)", body).group(1)
    return approve, reject


# --- My bookings --------------------------------------------------------------------------------


def test_my_bookings_lists_mine_only(customer, other_customer, technician):
    mine = pending(customer, technician, service="Boiler service")
    theirs = booked(other_customer, technician, service="Roof repair")
    page = browser(customer).get("/help/bookings/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Boiler service" in text and "Confirm the job" in text and "Roof repair" not in text
    assert browser(customer).get(f"/help/bookings/{theirs.pk}/").status_code == 404
    assert browser(customer).get(f"/help/bookings/{mine.pk}/").status_code == 200
    assert browser().get("/help/bookings/").status_code == 302  # sign in first


def test_the_customer_approves_then_reviews_on_the_page(customer, technician):
    booking = pending(customer, technician)
    client = browser(customer)
    page = client.get(f"/help/bookings/{booking.pk}/").content.decode()
    assert "Yes, approve the job" in page and "Replaced the valve." in page
    client.post(f"/help/bookings/{booking.pk}/approve/", {"feedback": "Thanks"})
    booking.refresh_from_db()
    assert booking.status == Status.VERIFIED
    page = client.get(f"/help/bookings/{booking.pk}/").content.decode()
    assert "Send the review" in page
    client.post(f"/help/bookings/{booking.pk}/review/", {"rating": "4", "comment": "Good"})
    assert booking.review.rating == 4
    page = client.get(f"/help/bookings/{booking.pk}/").content.decode()
    assert "4 of 5" in page and "Send the review" not in page


def test_the_customer_rejects_with_a_reason(customer, technician):
    booking = pending(customer, technician)
    client = browser(customer)
    response = client.post(f"/help/bookings/{booking.pk}/reject/", {"reason": ""}, follow=True)
    assert "This field is required." in response.content.decode()
    assert not Ticket.objects.exists()
    client.post(f"/help/bookings/{booking.pk}/reject/", {"reason": "Still drips"})
    booking.refresh_from_db()
    assert booking.status == Status.IN_PROGRESS and booking.support_ticket.priority == "high"


def test_another_customer_cannot_answer(customer, other_customer, technician):
    booking = pending(customer, technician)
    assert browser(other_customer).post(f"/help/bookings/{booking.pk}/approve/").status_code == 404
    booking.refresh_from_db()
    assert booking.status == Status.PENDING_COMPLETION


def test_the_list_costs_the_same_for_one_booking_and_many(
    customer, technician, django_assert_num_queries
):
    verified(customer, technician)
    client = browser(customer)
    client.get("/help/bookings/")
    with CaptureQueriesContext(connection) as one:
        client.get("/help/bookings/")
    for _ in range(12):
        pending(customer, technician)
    with django_assert_num_queries(len(one.captured_queries)):
        assert client.get("/help/bookings/").content.decode().count("Confirm the job") == 12


# --- the signed links ---------------------------------------------------------------------------


def test_the_emailed_link_approves_once(customer, technician):
    booking = pending(customer, technician)
    approve, _ = emailed_links(customer)
    anonymous = browser()
    page = anonymous.get(approve)
    assert page.status_code == 200 and "Approve the job" in page.content.decode()
    booking.refresh_from_db()
    assert booking.status == Status.PENDING_COMPLETION  # opening the link changes nothing
    done = anonymous.post(approve, {"feedback": ""})
    assert done.status_code == 200 and "Thank you" in done.content.decode()
    booking.refresh_from_db()
    assert booking.status == Status.VERIFIED
    assert booking.events.get(kind="approved").metadata["via"] == "link"
    again = anonymous.post(approve, {"feedback": ""})
    assert again.status_code == 400 and "already been used" in again.content.decode()


def test_the_emailed_reject_link_needs_a_reason_and_makes_one_ticket(customer, technician):
    booking = pending(customer, technician)
    _, reject = emailed_links(customer)
    client = browser()
    assert client.post(reject, {"reason": ""}).status_code == 400
    assert client.post(reject, {"reason": "Leaks"}).status_code == 200
    assert client.post(reject, {"reason": "Leaks"}).status_code == 400  # reused
    booking.refresh_from_db()
    assert booking.status == Status.IN_PROGRESS and Ticket.objects.count() == 1


def test_a_forged_or_altered_link_is_refused(customer, technician):
    booking = pending(customer, technician)
    approve, _ = emailed_links(customer)
    token = approve.rsplit("/", 2)[1]
    claim = {"b": booking.pk, "a": "approve", "n": booking.link_nonce}
    forged = signing.TimestampSigner(key="not-our-secret", salt=links.SALT).sign_object(claim)
    other_purpose = signing.TimestampSigner(salt="core.unsubscribe").sign_object(claim)
    guessed = signing.TimestampSigner(salt=links.SALT).sign_object({**claim, "n": "0" * 32})
    for bad in (token[:-2] + "xx", forged, other_purpose, guessed, "nonsense"):
        response = browser().post(f"/help/bookings/answer/{bad}/", {"feedback": ""})
        assert response.status_code == 400, bad
    booking.refresh_from_db()
    assert booking.status == Status.PENDING_COMPLETION


def test_an_expired_link_is_refused(customer, technician, settings):
    settings.BOOKING_LINK_MAX_AGE_HOURS = 24
    pending(customer, technician)
    approve, _ = emailed_links(customer)
    later = time.time() + 24 * 3600 + 5
    with mock.patch("django.core.signing.time.time", return_value=later):
        response = browser().post(approve, {"feedback": ""})
    assert response.status_code == 400 and "expired" in response.content.decode()
    assert Booking.objects.get().status == Status.PENDING_COMPLETION


def test_a_link_of_an_earlier_request_is_refused(customer, technician):
    booking = pending(customer, technician)
    old_approve, _ = emailed_links(customer)
    services.reject(booking=booking, by=customer, reason="Leaks")
    services.request_completion(booking=booking, by=technician)
    assert browser().post(old_approve, {"feedback": ""}).status_code == 400
    assert Booking.objects.get().status == Status.PENDING_COMPLETION


# --- My jobs (technicians) ----------------------------------------------------------------------


def test_the_technician_starts_and_requests_completion(customer, technician, other_technician):
    booking = booked(customer, technician)
    client = browser(technician)
    assert "Boiler service" in client.get("/help/jobs/").content.decode()
    assert browser(other_technician).get(f"/help/jobs/{booking.pk}/").status_code == 404
    assert browser(customer).get("/help/jobs/").status_code == 403
    client.post(f"/help/jobs/{booking.pk}/start/")
    assert "Request completion" in client.get(f"/help/jobs/{booking.pk}/").content.decode()
    client.post(f"/help/jobs/{booking.pk}/request-completion/", {"note": "All done"})
    booking.refresh_from_db()
    assert booking.status == Status.PENDING_COMPLETION and booking.completion_note == "All done"


# --- the desk -----------------------------------------------------------------------------------


def test_the_pending_queue_and_the_follow_up(customer, technician, agent, clock):
    waiting = pending(customer, technician, service="Boiler service")
    in_progress(customer, technician, service="Not done yet")
    client = browser(agent)
    assert "No booking is waiting" in client.get("/desk/bookings/").content.decode()
    clock.move(hours=49)
    services.escalate_overdue()
    queue = client.get("/desk/bookings/").content.decode()
    assert waiting.number in queue and "Not done yet" not in queue
    client.post(
        f"/desk/bookings/{waiting.pk}/contact/",
        {"contact-method": "call", "contact-reached": "no", "contact-notes": "Voicemail"},
    )
    assert ContactAttempt.objects.get().notes == "Voicemail"
    page = client.get(f"/desk/bookings/{waiting.pk}/").content.decode()
    assert "Voicemail" in page and "Not reached" in page and "Complete" in page
    client.post(f"/desk/bookings/{waiting.pk}/complete/", {"complete-outcome": "unreachable"})
    waiting.refresh_from_db()
    assert waiting.status == Status.VERIFIED and waiting.completion_outcome == Outcome.UNREACHABLE


def test_the_desk_is_for_staff(customer, technician):
    booking = pending(customer, technician)
    assert browser(customer).get("/desk/bookings/").status_code == 403
    assert browser(technician).get(f"/desk/bookings/{booking.pk}/").status_code == 403
    assert browser(customer).post(f"/desk/bookings/{booking.pk}/follow-up/").status_code == 403
    booking.refresh_from_db()
    assert booking.escalated_at is None


def test_the_queue_costs_the_same_for_one_and_many(
    customer, technician, agent, clock, django_assert_num_queries
):
    services.initiate_follow_up(booking=pending(customer, technician), by=agent)
    client = browser(agent)
    client.get("/desk/bookings/")
    with CaptureQueriesContext(connection) as one:
        client.get("/desk/bookings/")
    for _ in range(10):
        services.initiate_follow_up(booking=pending(customer, technician), by=agent)
    with django_assert_num_queries(len(one.captured_queries)):
        assert client.get("/desk/bookings/").content.decode().count("/desk/tickets/TKT-") == 11


def test_the_timeline_hides_support_notes_from_the_customer(customer, technician, agent):
    booking = services.initiate_follow_up(booking=pending(customer, technician), by=agent)
    services.log_contact_attempt(
        booking=booking, by=agent, method="call", reached=False, notes="Rude on the phone"
    )
    page = browser(customer).get(f"/help/bookings/{booking.pk}/").content.decode()
    assert "Escalated to support" in page
    assert "Contact attempt" not in page and "Rude on the phone" not in page
    desk = browser(agent).get(f"/desk/bookings/{booking.pk}/").content.decode()
    assert "Contact attempt" in desk and "Rude on the phone" in desk


def test_the_ticket_page_shows_the_booking_it_is_about(customer, technician, agent):
    booking = services.initiate_follow_up(booking=pending(customer, technician), by=agent)
    page = browser(agent).get(f"/desk/tickets/{booking.support_ticket.number}/").content.decode()
    assert f"/desk/bookings/{booking.pk}/" in page and "Follow-up" in page
    other = services.reject(booking=pending(customer, technician), by=customer, reason="Leaks")
    page = browser(agent).get(f"/desk/tickets/{other.support_ticket.number}/").content.decode()
    assert f"/desk/bookings/{other.pk}/" in page and f"/desk/bookings/{booking.pk}/" not in page


def test_the_desk_lists_every_booking_too(customer, technician, agent):
    scheduled = booked(customer, technician, service="Window cleaning")
    page = browser(agent).get("/desk/bookings/?queue=all").content.decode()
    assert scheduled.number in page and "Scheduled" in page
    assert "Window cleaning" not in browser(agent).get("/desk/bookings/").content.decode()
    assert browser(agent).get("/desk/bookings/?queue=nonsense").status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/help/jobs/", "/help/jobs/{pk}/", "/help/bookings/{pk}/", "/desk/bookings/{pk}/"],
)
def test_each_page_costs_the_same_however_long_the_history(customer, technician, agent, path):
    booking = services.initiate_follow_up(booking=pending(customer, technician), by=agent)
    user = {"/help/jobs": technician, "/help/bookings": customer}.get(
        "/".join(path.split("/")[:3]), agent
    )
    client = browser(user)
    url = path.format(pk=booking.pk)
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    for _ in range(8):
        services.log_contact_attempt(booking=booking, by=agent, method="call", reached=False)
        pending(customer, technician)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(one), [q["sql"] for q in many.captured_queries]


def test_the_customers_ticket_page_links_their_booking(customer, other_customer, technician):
    booking = services.reject(booking=pending(customer, technician), by=customer, reason="Leaks")
    number = booking.support_ticket.number
    page = browser(customer).get(f"/help/tickets/{number}/").content.decode()
    assert f"/help/bookings/{booking.pk}/" in page and "/desk/bookings/" not in page


def test_support_books_a_job_on_the_desk(customer, technician, agent):
    client = browser(agent)
    assert client.get("/desk/bookings/new/").status_code == 200
    form = {"customer_email": customer.email.upper(), "technician": technician.pk,
            "service": "Boiler service", "location": "12 Elm Street",
            "scheduled_at": "2026-04-01T09:30"}  # fmt: skip
    response = client.post("/desk/bookings/new/", form)
    booking = Booking.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/desk/bookings/{booking.pk}/"
    assert (booking.customer, booking.technician, booking.status) == (
        customer,
        technician,
        Status.SCHEDULED,
    )
    assert booking.scheduled_at.isoformat() == "2026-04-01T09:30:00+00:00"  # the agent's zone
    for wrong in ({"customer_email": technician.email}, {"technician": customer.pk}):
        assert client.post("/desk/bookings/new/", {**form, **wrong}).status_code == 400
    assert Booking.objects.count() == 1
    assert browser(customer).get("/desk/bookings/new/").status_code == 403


def test_the_booked_time_is_read_in_the_agents_zone(customer):
    berliner = UserFactory(roles=["agent"], time_zone="Europe/Berlin")
    technician = UserFactory(roles=["technician"])
    form = {"customer_email": customer.email, "service": "Boiler service",
            "technician": technician.pk, "scheduled_at": "2026-04-01T09:30"}  # fmt: skip
    assert browser(berliner).post("/desk/bookings/new/", form).status_code == 302
    assert Booking.objects.get().scheduled_at.isoformat() == "2026-04-01T07:30:00+00:00"
