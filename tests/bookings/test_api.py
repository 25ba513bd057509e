import datetime as dt

import pytest
from rest_framework.test import APIClient

from bookings.models import Booking, ContactAttempt, Status
from core.roles import Role
from support.models import Ticket
from tests.factories import UserFactory

from .factories import booked, in_progress, pending, verified

pytestmark = pytest.mark.django_db
BASE = "/api/v1/bookings/"


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def url(booking, action=""):
    return f"{BASE}{booking.pk}/" + (f"{action}/" if action else "")


def test_each_sees_their_own(customer, other_customer, technician, other_technician, agent):
    mine = booked(customer, technician)
    theirs = booked(other_customer, other_technician)
    ids = lambda user: {row["id"] for row in client_for(user).get(BASE).json()["results"]}  # noqa: E731
    assert ids(customer) == {mine.pk}
    assert ids(technician) == {mine.pk}
    assert ids(agent) == {mine.pk, theirs.pk}
    assert client_for(customer).get(url(theirs)).status_code == 404
    assert client_for(technician).get(url(theirs)).status_code == 404
    assert APIClient().get(BASE).status_code == 401


def test_the_list_costs_the_same_for_one_booking_and_many(
    customer, technician, agent, django_assert_num_queries
):
    verified(customer, technician)
    client = client_for(agent)
    client.get(BASE)  # warm the roles cache of the session's user
    with django_assert_num_queries(1) as one:  # one SELECT, everything joined
        assert len(client.get(BASE).json()["results"]) == 1
    for _ in range(15):
        verified(customer, technician)
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(client.get(BASE).json()["results"]) == 16


def test_staff_book_jobs(customer, technician, agent):
    when = "2026-04-01T09:30:00+02:00"
    body = {"customer": customer.pk, "technician": technician.pk, "service": "Boiler service",
            "location": "12 Elm Street", "scheduled_at": when}  # fmt: skip
    response = client_for(agent).post(BASE, body, format="json", HTTP_IDEMPOTENCY_KEY="book-1")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "scheduled" and data["number"].startswith("BKG-")
    assert data["scheduled_at"] == "2026-04-01T07:30:00Z"
    again = client_for(agent).post(BASE, body, format="json", HTTP_IDEMPOTENCY_KEY="book-1")
    assert again.json()["id"] == data["id"] and Booking.objects.count() == 1
    assert client_for(customer).post(BASE, body, format="json").status_code == 403
    # A technician is not a customer; a customer is not a technician.
    wrong = {**body, "customer": technician.pk, "technician": customer.pk}
    refused = client_for(agent).post(BASE, wrong, format="json")
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"customer", "technician"}


def test_the_technician_requests_completion(customer, technician, other_technician):
    booking = in_progress(customer, technician)
    assert client_for(customer).post(url(booking, "request-completion")).status_code == 403
    assert client_for(other_technician).post(url(booking, "request-completion")).status_code == 404
    response = client_for(technician).post(
        url(booking, "request-completion"), {"note": "Done."}, format="json"
    )
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "pending_completion" and data["completion_note"] == "Done."
    assert data["completion_deadline"] is not None


def test_only_the_customer_answers_others_get_404_or_403(
    customer, other_customer, technician, agent
):
    booking = pending(customer, technician)
    for action, body in (("approve", {}), ("reject", {"reason": "No"})):
        assert client_for(other_customer).post(url(booking, action), body).status_code == 404
        assert client_for(agent).post(url(booking, action), body).status_code == 403
        assert client_for(technician).post(url(booking, action), body).status_code == 403
    booking.refresh_from_db()
    assert booking.status == Status.PENDING_COMPLETION and not Ticket.objects.exists()


def test_approve_then_review(customer, technician):
    booking = pending(customer, technician)
    client = client_for(customer)
    early = client.post(url(booking, "review"), {"rating": 5}, format="json")
    assert early.status_code == 409 and early.json()["code"] == "not_verified"
    response = client.post(url(booking, "approve"), {"feedback": "Great"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "verified"
    assert response.json()["completion_outcome"] == "approved"
    review = client.post(url(booking, "review"), {"rating": 4, "comment": "Tidy"}, format="json")
    assert review.status_code == 201 and review.json()["rating"] == 4
    assert client.get(url(booking)).json()["review"]["comment"] == "Tidy"
    twice = client.post(url(booking, "review"), {"rating": 1}, format="json")
    assert twice.status_code == 409
    assert client.post(url(booking, "review"), {"rating": 6}, format="json").status_code == 400


def test_a_retried_rejection_makes_one_ticket(customer, technician):
    booking = pending(customer, technician)
    client = client_for(customer)
    first = client.post(url(booking, "reject"), {"reason": "Still drips"}, format="json")
    second = client.post(url(booking, "reject"), {"reason": "Still drips"}, format="json")
    assert first.status_code == second.status_code == 200
    assert first.json()["support_ticket"] == second.json()["support_ticket"]
    ticket = Ticket.objects.get()
    assert ticket.priority == "high" and ticket.number == first.json()["support_ticket"]
    assert client.post(url(booking, "reject"), {}, format="json").status_code == 400


def test_support_follows_up_and_completes(customer, technician, agent):
    booking = pending(customer, technician)
    client = client_for(agent)
    assert client.get(f"{BASE}pending-completion/").json()["results"] == []  # not due yet
    started = client.post(url(booking, "initiate-follow-up"))
    assert started.status_code == 200 and started.json()["in_follow_up"] is True
    assert [r["id"] for r in client.get(f"{BASE}pending-completion/").json()["results"]] == [
        booking.pk
    ]
    attempt = client.post(
        url(booking, "contact-attempts"),
        {"method": "call", "reached": False, "notes": "Voicemail"},
        format="json",
    )
    assert attempt.status_code == 201 and attempt.json()["agent"] == agent.pk
    listed = client.get(url(booking, "contact-attempts")).json()["results"]
    assert [a["notes"] for a in listed] == ["Voicemail"]
    bad = client.post(url(booking, "complete"), {"outcome": "auto"}, format="json")
    assert bad.status_code == 400
    done = client.post(url(booking, "complete"), {"outcome": "disputed"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "disputed"


def test_customers_do_not_see_the_follow_up_log(customer, technician, agent):
    booking = pending(customer, technician)
    client = client_for(agent)
    client.post(url(booking, "initiate-follow-up"))
    client.post(url(booking, "contact-attempts"), {"method": "sms", "reached": False})
    assert client_for(customer).get(url(booking, "contact-attempts")).status_code == 403
    kinds = [e["kind"] for e in client_for(customer).get(url(booking, "events")).json()["results"]]
    assert "contact_attempted" not in kinds and "escalated" in kinds
    staff_kinds = [e["kind"] for e in client.get(url(booking, "events")).json()["results"]]
    assert "contact_attempted" in staff_kinds
    assert ContactAttempt.objects.count() == 1


def test_support_only_actions_refuse_everyone_else(customer, technician):
    booking = pending(customer, technician)
    for user in (customer, technician, UserFactory(roles=[Role.REVIEWER])):
        client = client_for(user)
        assert client.post(url(booking, "initiate-follow-up")).status_code in (403, 404)
        assert client.post(url(booking, "complete"), {"outcome": "disputed"}).status_code in (
            403,
            404,
        )
        assert client.get(f"{BASE}pending-completion/").status_code == 403
    booking.refresh_from_db()
    assert booking.status == Status.PENDING_COMPLETION and booking.escalated_at is None


def test_a_refused_move_names_the_allowed_ones(customer, technician, agent):
    booking = verified(customer, technician)
    response = client_for(agent).post(url(booking, "cancel"), {"reason": "x"}, format="json")
    assert response.status_code == 409
    assert response.json()["allowed"] == []


def test_the_deadline_passes_into_the_queue(customer, technician, agent, clock):
    booking = pending(customer, technician)
    clock.move(hours=48, seconds=1)
    rows = client_for(agent).get(f"{BASE}pending-completion/").json()["results"]
    assert [r["number"] for r in rows] == [booking.number]
    assert rows[0]["completion_deadline"].startswith(
        (booking.completion_deadline).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")
    )
