"""The beat jobs: hourly escalation, 12-hourly reminders, daily auto-completion. Each is
set-based, does nothing twice, and is safe when two runs meet (PostgreSQL, threads)."""

import datetime as dt

import pytest
from django.conf import settings
from django.db.models import Count

from bookings import services, tasks
from bookings.models import Booking, BookingEvent, EventKind, Outcome, Status
from core.models import OutboxMessage
from core.workflow import TransitionRefused
from support.models import Ticket
from tests.concurrency import assert_outcomes, run_concurrently
from tests.factories import UserFactory

from .factories import pending

HOUR = dt.timedelta(hours=1)


def customers(n):
    return [UserFactory() for _ in range(n)]


def test_beat_runs_each_job_on_its_schedule():
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["bookings-escalate-overdue"] == {
        "task": "bookings.tasks.escalate_overdue",
        "schedule": 3600.0,
    }
    assert schedule["bookings-remind-customers"]["schedule"] == 12 * 3600.0
    assert schedule["bookings-auto-complete"]["schedule"] == 24 * 3600.0


# --- escalation ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_overdue_completions_are_escalated_once(customer, technician, clock):
    booking = pending(customer, technician)
    clock.move(hours=47, minutes=59)
    assert tasks.escalate_overdue() == 0
    clock.move(minutes=1)
    assert tasks.escalate_overdue() == 1
    booking.refresh_from_db()
    assert booking.escalated_at == clock.at and booking.status == Status.PENDING_COMPLETION
    ticket = booking.support_ticket
    assert ticket.category.slug == "booking" and ticket.customer == customer
    assert OutboxMessage.objects.filter(key=f"booking:{booking.pk}:r1:escalated:email").exists()
    clock.move(hours=1)
    assert tasks.escalate_overdue() == 0  # the next hour: nothing again
    assert Ticket.objects.count() == 1
    assert booking.events.filter(kind=EventKind.ESCALATED).count() == 1


@pytest.mark.django_db
def test_escalation_follows_the_setting(customer, technician, clock, settings):
    settings.COMPLETION_ESCALATION_HOURS = 2
    pending(customer, technician)
    clock.move(hours=2)
    assert services.escalate_overdue() == 1


@pytest.mark.django_db
def test_escalation_skips_answered_and_followed_up_bookings(customer, technician, agent, clock):
    answered = pending(customer, technician)
    services.approve(booking=answered, by=customer)
    followed = services.initiate_follow_up(booking=pending(customer, technician), by=agent)
    clock.move(days=3)
    assert services.escalate_overdue() == 0
    assert Ticket.objects.count() == 1
    assert followed.support_ticket_id == Ticket.objects.get().pk


@pytest.mark.django_db
def test_a_failing_booking_does_not_stop_the_others(customer, technician, clock, monkeypatch):
    first, second = pending(customer, technician), pending(customer, technician)
    clock.move(days=3)
    real = services.support_services.create_ticket
    calls = []

    def flaky(**fields):
        calls.append(fields["subject"])
        if first.number in fields["subject"]:
            raise RuntimeError("broker down")
        return real(**fields)

    monkeypatch.setattr(services.support_services, "create_ticket", flaky)
    assert services.escalate_overdue() == 1
    assert len(calls) == 2  # the failed one was not retried in a loop
    first.refresh_from_db(), second.refresh_from_db()
    assert first.escalated_at is None and second.escalated_at is not None
    monkeypatch.setattr(services.support_services, "create_ticket", real)
    assert services.escalate_overdue() == 1  # the next run gets it


@pytest.mark.django_db(transaction=True)
def test_two_escalation_runs_at_once_make_one_ticket_each(technician, clock):
    bookings = [pending(c, technician) for c in customers(6)]
    clock.move(days=3)
    outcomes = run_concurrently(lambda: services.escalate_overdue(), [()] * 2)
    counts = assert_outcomes(outcomes, succeeded=2)
    assert sum(counts) == len(bookings)
    assert Ticket.objects.count() == len(bookings)
    assert (
        BookingEvent.objects.filter(kind=EventKind.ESCALATED).values("booking").distinct().count()
        == BookingEvent.objects.filter(kind=EventKind.ESCALATED).count()
        == len(bookings)
    )


# --- reminders ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_reminder_per_window_within_24_hours_of_the_deadline(customer, technician, clock):
    booking = pending(customer, technician)  # requested 08:00, due in 48 h
    assert tasks.remind_customers() == 0  # 48 h ahead: not yet
    clock.move(hours=28)  # 12:00 the next day, 20 h before the deadline
    assert tasks.remind_customers() == 1
    assert tasks.remind_customers() == 0  # the same window: not again
    clock.move(hours=6)  # still 12:00–24:00
    assert tasks.remind_customers() == 0
    clock.move(hours=6)  # the next window, 8 h before
    assert tasks.remind_customers() == 1
    clock.move(hours=12)  # past the deadline: escalation's turn, not a reminder's
    assert tasks.remind_customers() == 0
    mails = OutboxMessage.objects.filter(channel="email", key__contains=":reminder:")
    assert mails.count() == 2 and all(m.recipient == customer.email for m in mails)
    assert "/help/bookings/answer/" in mails.first().body
    assert booking.events.filter(kind=EventKind.REMINDER_SENT).count() == 2


@pytest.mark.django_db
def test_answered_bookings_are_not_reminded(customer, technician, clock):
    services.approve(booking=pending(customer, technician), by=customer)
    clock.move(hours=30)
    assert services.remind_customers() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("due", [1, 20])
def test_reminders_are_set_based(technician, clock, django_assert_num_queries, due):
    for someone in customers(due):
        pending(someone, technician)
    clock.move(hours=30)
    # One batch, whatever its size: savepoint, lock-and-read, one UPDATE, one outbox insert,
    # one events insert, release.
    with django_assert_num_queries(6):
        assert services.remind_customers(batch_size=50) == due


@pytest.mark.django_db(transaction=True)
def test_two_reminder_runs_at_once_send_each_once(technician, clock):
    for someone in customers(8):
        pending(someone, technician)
    clock.move(hours=30)
    outcomes = run_concurrently(lambda: services.remind_customers(batch_size=3), [()] * 2)
    assert sum(assert_outcomes(outcomes, succeeded=2)) == 8
    per_key = (
        OutboxMessage.objects.filter(channel="email", key__contains=":reminder:")
        .values("key")
        .annotate(n=Count("pk"))
    )
    assert len(per_key) == 8 and {row["n"] for row in per_key} == {1}
    assert BookingEvent.objects.filter(kind=EventKind.REMINDER_SENT).count() == 8


# --- auto-completion ----------------------------------------------------------------------------


def _in_follow_up_with_failures(customer, technician, agent, failures):
    booking = services.initiate_follow_up(booking=pending(customer, technician), by=agent)
    for _ in range(failures):
        services.log_contact_attempt(booking=booking, by=agent, method="call", reached=False)
    return booking


@pytest.mark.django_db
def test_auto_completion_needs_the_attempts_and_the_days(customer, technician, agent, clock):
    enough = _in_follow_up_with_failures(customer, technician, agent, 3)
    too_few = _in_follow_up_with_failures(customer, technician, agent, 2)
    clock.move(days=6, hours=23)
    assert tasks.auto_complete() == 0
    clock.move(hours=1)
    assert tasks.auto_complete() == 1
    enough.refresh_from_db(), too_few.refresh_from_db()
    assert enough.status == Status.VERIFIED and enough.completion_outcome == Outcome.AUTO
    assert enough.support_ticket.status == "resolved"
    assert too_few.status == Status.PENDING_COMPLETION
    assert tasks.auto_complete() == 0  # the next day: nothing twice
    assert OutboxMessage.objects.filter(key=f"booking:{enough.pk}:r1:settled:auto:email").exists()
    assert OutboxMessage.objects.filter(key=f"booking:{enough.pk}:review-request:email").exists()


@pytest.mark.django_db
def test_auto_completion_follows_the_settings(customer, technician, agent, clock, settings):
    settings.MIN_CONTACT_ATTEMPTS = 1
    settings.AUTO_COMPLETE_DAYS = 1
    _in_follow_up_with_failures(customer, technician, agent, 1)
    clock.move(days=1)
    assert services.auto_complete() == 1


@pytest.mark.django_db
def test_reached_attempts_do_not_count(customer, technician, agent, clock):
    booking = services.initiate_follow_up(booking=pending(customer, technician), by=agent)
    for _ in range(3):
        services.log_contact_attempt(booking=booking, by=agent, method="call", reached=True)
    clock.move(days=8)
    assert services.auto_complete() == 0


@pytest.mark.django_db(transaction=True)
def test_two_auto_completion_runs_at_once_complete_each_once(technician, agent, clock):
    bookings = [_in_follow_up_with_failures(c, technician, agent, 3) for c in customers(5)]
    clock.move(days=8)
    outcomes = run_concurrently(lambda: services.auto_complete(), [()] * 2)
    assert sum(assert_outcomes(outcomes, succeeded=2)) == len(bookings)
    assert set(Booking.objects.values_list("status", flat=True)) == {Status.VERIFIED}
    assert BookingEvent.objects.filter(kind=EventKind.AUTO_COMPLETED).count() == len(bookings)


# --- an answer racing the escalation ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_an_approval_racing_the_escalation_leaves_one_consistent_outcome(
    customer, technician, clock, attempt
):
    booking = pending(customer, technician)
    clock.move(days=2, minutes=1)

    def approve():
        return services.approve(booking=Booking(pk=booking.pk, customer=customer), by=customer)

    def escalate():
        return services.escalate_overdue()

    outcomes = run_concurrently(lambda fn: fn(), [(approve,), (escalate,)])
    assert_outcomes(outcomes, succeeded=2)
    booking.refresh_from_db()
    assert booking.status == Status.VERIFIED
    assert booking.completion_outcome == Outcome.APPROVED
    kinds = list(booking.events.values_list("kind", flat=True))
    assert kinds.count(EventKind.APPROVED) == 1
    if EventKind.ESCALATED in kinds:
        # The escalation won the lock: its ticket exists, and the approval resolved it.
        assert kinds.index(EventKind.ESCALATED) < kinds.index(EventKind.APPROVED)
        assert Ticket.objects.get().status == "resolved"
        assert booking.support_ticket_id == Ticket.objects.get().pk
    else:
        # The approval won: the escalation found nothing to do.
        assert not Ticket.objects.exists() and booking.escalated_at is None


@pytest.mark.django_db(transaction=True)
def test_a_rejection_sent_twice_at_once_makes_one_ticket(customer, technician):
    booking = pending(customer, technician)

    def reject():
        return services.reject(
            booking=Booking(pk=booking.pk, customer=customer), by=customer, reason="Still drips"
        ).support_ticket_id

    outcomes = run_concurrently(reject, [(), ()])
    first, second = assert_outcomes(outcomes, succeeded=2)
    assert first == second == Ticket.objects.get().pk
    assert booking.events.filter(kind=EventKind.REJECTED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_approval_racing_a_rejection_leaves_one_answer(customer, technician):
    booking = pending(customer, technician)
    as_customer = Booking(pk=booking.pk, customer=customer)
    outcomes = run_concurrently(
        lambda fn: fn(),
        [
            (lambda: services.approve(booking=as_customer, by=customer),),
            (lambda: services.reject(booking=as_customer, by=customer, reason="No"),),
        ],
    )
    assert_outcomes(outcomes, succeeded=1, failed={TransitionRefused: 1})
    booking.refresh_from_db()
    answered = set(booking.events.values_list("kind", flat=True)) & {"approved", "rejected"}
    assert len(answered) == 1
    assert (booking.status == Status.VERIFIED) == (answered == {"approved"})
    assert Ticket.objects.count() == (1 if answered == {"rejected"} else 0)
