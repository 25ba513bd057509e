import datetime as dt
import re

import pytest

from bookings import services
from bookings.models import (
    Booking,
    BookingEvent,
    ContactAttempt,
    EventKind,
    Outcome,
    Review,
    Status,
)
from core.audit import AppendOnlyError
from core.errors import Conflict, DomainError, NotAllowed
from core.models import OutboxMessage
from core.workflow import TransitionRefused
from support.models import Ticket
from tests.factories import UserFactory

from .factories import booked, in_progress, pending, staff, verified

pytestmark = pytest.mark.django_db


def kinds(booking):
    return list(booking.events.order_by("created_at", "pk").values_list("kind", flat=True))


# --- booking, starting, requesting completion ---------------------------------------------------


def test_a_booking_is_numbered_and_on_the_record(customer, technician, clock):
    booking = booked(customer, technician)
    assert re.fullmatch(r"BKG-20260302-\d{4}", booking.number)
    assert booking.status == Status.SCHEDULED
    assert kinds(booking) == [EventKind.CREATED]


def test_only_staff_book_and_only_for_customers(customer, technician):
    with pytest.raises(NotAllowed):
        booked(customer, technician, by=customer)
    with pytest.raises(DomainError):
        booked(technician, technician)
    with pytest.raises(DomainError):
        booked(customer, customer)
    with pytest.raises(DomainError):
        booked(customer, None)
    assert not Booking.objects.exists()


def test_request_completion_sets_the_deadline_and_tells_the_customer(customer, technician, clock):
    booking = in_progress(customer, technician)
    clock.move(hours=3)
    booking = services.request_completion(booking=booking, by=technician, note="All done.")
    assert booking.status == Status.PENDING_COMPLETION
    assert booking.completion_requested_at == clock.at
    assert booking.completion_deadline == clock.at + dt.timedelta(hours=48)
    assert booking.completion_round == 1 and booking.link_nonce
    mail = OutboxMessage.objects.get(channel="email", recipient=customer.email)
    assert "/help/bookings/answer/" in mail.body and "All done." in mail.body
    assert OutboxMessage.objects.filter(channel="in_app", recipient_user=customer).exists()
    assert kinds(booking) == [
        EventKind.CREATED,
        EventKind.STARTED,
        EventKind.COMPLETION_REQUESTED,
    ]


def test_the_e_mail_gives_the_deadline_in_the_customers_zone(technician, clock):
    customer = UserFactory(roles=["customer"], time_zone="America/New_York")
    pending(customer, technician)  # requested 08:00 UTC on 2 March: due 4 March 08:00 UTC
    mail = OutboxMessage.objects.get(channel="email", recipient=customer.email)
    assert "04 March 2026 03:00 (America/New_York)" in mail.body


def test_the_deadline_follows_the_setting(customer, technician, clock, settings):
    settings.COMPLETION_ESCALATION_HOURS = 12
    booking = pending(customer, technician)
    assert booking.completion_deadline == clock.at + dt.timedelta(hours=12)


def test_only_the_bookings_technician_requests_completion(
    customer, technician, other_technician, agent
):
    booking = in_progress(customer, technician)
    for someone in (other_technician, customer, agent):
        with pytest.raises(NotAllowed):
            services.request_completion(booking=booking, by=someone)
    booking.refresh_from_db()
    assert booking.status == Status.IN_PROGRESS
    assert not OutboxMessage.objects.exists()


def test_a_retried_request_sends_nothing_twice(customer, technician):
    booking = pending(customer, technician)
    again = services.request_completion(booking=booking, by=technician)
    assert again.completion_round == 1
    assert kinds(booking).count(EventKind.COMPLETION_REQUESTED) == 1
    assert OutboxMessage.objects.filter(channel="email").count() == 1


def test_completion_of_a_job_not_started_is_refused(customer, technician):
    booking = booked(customer, technician)
    with pytest.raises(TransitionRefused) as refused:
        services.request_completion(booking=booking, by=technician)
    assert refused.value.extra["allowed"] == ["in_progress"]  # start it first


# --- the customer's answer ----------------------------------------------------------------------


def test_approve_verifies_tells_the_technician_and_asks_for_a_review(customer, technician, clock):
    booking = pending(customer, technician)
    clock.move(hours=5)
    booking = services.approve(booking=booking, by=customer, feedback="Great work")
    assert booking.status == Status.VERIFIED
    assert booking.verified_at == clock.at
    assert booking.completion_outcome == Outcome.APPROVED
    assert booking.link_nonce == ""
    event = booking.events.get(kind=EventKind.APPROVED)
    assert event.actor == customer and event.metadata["feedback"] == "Great work"
    assert OutboxMessage.objects.filter(
        recipient_user=technician, key__contains="approved"
    ).exists()
    assert OutboxMessage.objects.filter(key=f"booking:{booking.pk}:review-request:email").exists()
    assert services.approve(booking=booking, by=customer).pk == booking.pk  # a retry: nothing
    assert kinds(booking).count(EventKind.APPROVED) == 1


def test_only_the_bookings_customer_answers(customer, other_customer, technician, agent):
    booking = pending(customer, technician)
    for someone in (other_customer, technician, agent):
        with pytest.raises(NotAllowed):
            services.approve(booking=booking, by=someone)
        with pytest.raises(NotAllowed):
            services.reject(booking=booking, by=someone, reason="No")
    booking.refresh_from_db()
    assert booking.status == Status.PENDING_COMPLETION


def test_reject_goes_back_to_work_with_one_high_priority_ticket(customer, technician, clock):
    booking = pending(customer, technician)
    booking = services.reject(booking=booking, by=customer, reason="The tap still leaks.")
    assert booking.status == Status.IN_PROGRESS
    ticket = booking.support_ticket
    assert ticket.priority == "high" and ticket.category.slug == "booking"
    assert ticket.customer == customer and booking.number in ticket.subject
    assert "The tap still leaks." in ticket.description
    event = booking.events.get(kind=EventKind.REJECTED)
    assert event.metadata["reason"] == "The tap still leaks."
    assert event.after["ticket"] == ticket.number
    # The retried request finds its work done: the same ticket, no second event.
    again = services.reject(booking=booking, by=customer, reason="The tap still leaks.")
    assert again.support_ticket_id == ticket.pk
    assert Ticket.objects.count() == 1
    assert kinds(booking).count(EventKind.REJECTED) == 1


def test_a_rejection_needs_a_reason(customer, technician):
    booking = pending(customer, technician)
    with pytest.raises(DomainError) as refused:
        services.reject(booking=booking, by=customer, reason="   ")
    assert "reason" in refused.value.errors
    assert not Ticket.objects.exists()


def test_a_second_round_after_a_rejection(customer, technician, clock):
    booking = services.reject(booking=pending(customer, technician), by=customer, reason="Leaks")
    clock.move(days=1)
    booking = services.request_completion(booking=booking, by=technician, note="Fixed the leak.")
    assert booking.completion_round == 2
    booking = services.reject(booking=booking, by=customer, reason="Still leaks")
    assert Ticket.objects.count() == 2  # one per rejection
    booking = services.request_completion(booking=booking, by=technician)
    booking = services.approve(booking=booking, by=customer)
    assert booking.status == Status.VERIFIED


def test_answering_a_verified_booking_is_refused(customer, technician):
    booking = verified(customer, technician)
    with pytest.raises(TransitionRefused):
        services.reject(booking=booking, by=customer, reason="Changed my mind")
    assert not Ticket.objects.exists()


# --- reviews ------------------------------------------------------------------------------------


def test_a_review_before_verification_is_refused(customer, technician):
    booking = pending(customer, technician)
    with pytest.raises(Conflict) as refused:
        services.leave_review(booking=booking, by=customer, rating=5)
    assert refused.value.code == "not_verified"
    assert not Review.objects.exists()
    assert not booking.events.filter(kind=EventKind.REVIEWED).exists()


def test_one_review_per_verified_booking(customer, technician):
    booking = verified(customer, technician)
    review = services.leave_review(booking=booking, by=customer, rating=4, comment="Tidy work")
    assert (review.rating, review.comment) == (4, "Tidy work")
    with pytest.raises(Conflict) as refused:
        services.leave_review(booking=booking, by=customer, rating=1)
    assert refused.value.code == "already_reviewed"
    assert OutboxMessage.objects.filter(
        recipient_user=technician, key__contains="reviewed"
    ).exists()


@pytest.mark.parametrize("rating", [0, 6, "5", True, None])
def test_a_rating_is_one_to_five(customer, technician, rating):
    booking = verified(customer, technician)
    with pytest.raises(DomainError):
        services.leave_review(booking=booking, by=customer, rating=rating)


def test_only_the_customer_reviews(customer, other_customer, technician):
    booking = verified(customer, technician)
    with pytest.raises(NotAllowed):
        services.leave_review(booking=booking, by=other_customer, rating=5)


# --- support's follow-up ------------------------------------------------------------------------


def test_follow_up_contact_attempts_and_completion(customer, technician, agent, clock):
    booking = pending(customer, technician)
    booking = services.initiate_follow_up(booking=booking, by=agent)
    assert booking.escalated_at == clock.at
    ticket = booking.support_ticket
    assert ticket.category.slug == "booking" and ticket.channel == "internal"
    assert services.initiate_follow_up(booking=booking, by=agent).support_ticket_id == ticket.pk
    assert Ticket.objects.count() == 1

    clock.move(hours=2)
    attempt = services.log_contact_attempt(
        booking=booking, by=agent, method="call", reached=False, notes="Voicemail"
    )
    assert attempt.agent == agent
    services.log_contact_attempt(booking=booking, by=agent, method="sms", reached=True)
    booking.refresh_from_db()
    assert booking.failed_contact_attempts == 1
    assert booking.first_failed_contact_at == attempt.attempted_at

    booking = services.complete(booking=booking, by=agent, outcome="customer_confirmed")
    assert booking.status == Status.VERIFIED
    assert booking.completion_outcome == Outcome.CUSTOMER_CONFIRMED
    ticket.refresh_from_db()
    assert ticket.status == "resolved"  # the follow-up is over
    assert kinds(booking)[-2:] == [EventKind.CONTACT_ATTEMPTED, EventKind.COMPLETED]


@pytest.mark.parametrize(
    ("outcome", "status"),
    [("customer_confirmed", "verified"), ("unreachable", "verified"), ("disputed", "disputed")],
)
def test_each_support_outcome(customer, technician, agent, outcome, status):
    booking = services.complete(booking=pending(customer, technician), by=agent, outcome=outcome)
    assert booking.status == status and booking.completion_outcome == outcome
    assert (booking.verified_at is not None) == (status == "verified")


def test_support_cannot_record_the_automatic_or_customer_outcomes(customer, technician, agent):
    booking = pending(customer, technician)
    for outcome in ("auto", "approved", "nonsense"):
        with pytest.raises(DomainError):
            services.complete(booking=booking, by=agent, outcome=outcome)
    booking.refresh_from_db()
    assert booking.status == Status.PENDING_COMPLETION


def test_contact_attempts_belong_to_a_follow_up(customer, technician, agent):
    booking = pending(customer, technician)
    with pytest.raises(Conflict):
        services.log_contact_attempt(booking=booking, by=agent, method="call", reached=False)
    with pytest.raises(NotAllowed):
        services.initiate_follow_up(booking=booking, by=customer)
    services.initiate_follow_up(booking=booking, by=agent)
    with pytest.raises(DomainError):
        services.log_contact_attempt(booking=booking, by=agent, method="pigeon", reached=False)
    with pytest.raises(NotAllowed):
        services.log_contact_attempt(booking=booking, by=technician, method="call", reached=False)
    assert not ContactAttempt.objects.exists()


def test_follow_up_of_an_answered_booking_is_refused(customer, technician, agent):
    booking = verified(customer, technician)
    with pytest.raises(Conflict):
        services.initiate_follow_up(booking=booking, by=agent)
    assert not Ticket.objects.exists()


def test_the_customer_may_still_answer_during_the_follow_up(customer, technician, agent):
    booking = services.initiate_follow_up(booking=pending(customer, technician), by=agent)
    follow_up = booking.support_ticket
    booking = services.reject(booking=booking, by=customer, reason="Not finished")
    follow_up.refresh_from_db()
    assert follow_up.status == "resolved"
    assert booking.support_ticket != follow_up and booking.support_ticket.priority == "high"
    assert booking.escalated_at is None


def test_cancel(customer, technician, agent):
    booking = services.cancel(booking=booked(customer, technician), by=agent, reason="Moved out")
    assert booking.status == Status.CANCELLED
    with pytest.raises(TransitionRefused):
        services.start(booking=booking, by=technician)


def test_events_are_append_only(customer, technician):
    booking = pending(customer, technician)
    with pytest.raises(AppendOnlyError):
        BookingEvent.objects.filter(booking=booking).update(kind="approved")
    with pytest.raises(AppendOnlyError):
        booking.events.first().delete()


def test_the_whole_workflow_with_time_moved(customer, technician, agent, clock, settings):
    """Requested, reminded within 24 h, escalated after 48 h, three failed attempts over a
    week, then completed automatically: every step on the record, and a review at the end."""
    booking = pending(customer, technician)
    assert services.escalate_overdue() == 0
    clock.move(hours=30)  # 18 h before the deadline
    assert services.remind_customers() == 1
    clock.move(hours=18, minutes=1)
    assert services.escalate_overdue() == 1
    booking.refresh_from_db()
    assert booking.in_follow_up and booking.support_ticket is not None
    for day in range(3):
        clock.move(days=1 if day else 0, hours=1)
        services.log_contact_attempt(booking=booking, by=agent, method="call", reached=False)
    assert services.auto_complete() == 0  # the first failed attempt is not a week old
    clock.move(days=6)
    assert services.auto_complete() == 1
    booking.refresh_from_db()
    assert booking.status == Status.VERIFIED and booking.completion_outcome == Outcome.AUTO
    services.leave_review(booking=booking, by=customer, rating=3)
    assert kinds(booking) == [
        EventKind.CREATED,
        EventKind.STARTED,
        EventKind.COMPLETION_REQUESTED,
        EventKind.REMINDER_SENT,
        EventKind.ESCALATED,
        EventKind.CONTACT_ATTEMPTED,
        EventKind.CONTACT_ATTEMPTED,
        EventKind.CONTACT_ATTEMPTED,
        EventKind.AUTO_COMPLETED,
        EventKind.REVIEWED,
    ]


def test_staff_may_start_a_job(customer, technician):
    booking = services.start(booking=booked(customer, technician), by=staff())
    assert booking.status == Status.IN_PROGRESS
