"""Every change to a booking: checked, made under the booking's row lock, on the record.

Each function checks who may (`permissions`, `NotAllowed` otherwise), locks the booking and
re-reads it, checks that its state allows the change (`workflow.BOOKING`: a refused move is a
409 naming the allowed targets), then writes the rows and one `BookingEvent` in the same
transaction. Notifications are outbox rows written in that transaction. A retried request that
finds its work already done returns the booking as it is (no second event, ticket or e-mail).

Support tickets are opened and moved through `support.services` only. Locks are always taken
booking first, then ticket, so an answer and an escalation of the same booking serialise.
"""

import logging
import secrets
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import batch, scheduling
from core.audit import record
from core.errors import Conflict, DomainError
from core.numbering import daily_number
from core.roles import Role, has_role
from core.workflow import CUSTOMER, STAFF, SYSTEM
from support import services as support_services
from support.models import Category as TicketCategory
from support.models.choices import Channel as TicketChannel
from support.models.choices import Priority
from support.models.choices import Status as TicketStatus

from . import notifications
from .models import (
    SUPPORT_OUTCOMES,
    Booking,
    BookingEvent,
    ContactAttempt,
    ContactMethod,
    EventKind,
    FollowUpCheck,
    Outcome,
    Review,
    Status,
)
from .permissions import can_manage, can_respond, can_start, can_work, is_customer_kind
from .workflow import BOOKING, TECHNICIAN

logger = logging.getLogger(__name__)

MAX_TEXT = 5000
JOB_BATCH = 200
REMINDER_HORIZON = timedelta(hours=24)
TICKET_CATEGORY = "booking"
#: A follow-up ticket still open when the booking is settled is resolved by the system.
TICKET_DONE = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.CANCELLED})


# --- helpers ------------------------------------------------------------------------------------


def _event(booking, kind, *, by=None, before=None, after=None, **metadata) -> BookingEvent:
    return record(
        BookingEvent,
        kind=kind,
        actor=by,
        before=before,
        after=after,
        metadata=metadata,
        booking=booking,
    )


def _locked(booking) -> Booking:
    # The ticket is not joined: a row read under a lock another transaction held is re-read at
    # its newest version, but a joined row is not (a follow-up ticket created by the
    # transaction we waited for would look absent). It is read after the lock, when needed.
    return (
        Booking.objects.select_for_update(of=("self",))
        .select_related("customer", "technician")
        .get(pk=booking.pk)
    )


def _text(value, *, field: str, required: bool = False) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        raise DomainError("Text is required.", errors={field: ["Not a valid string."]})
    if required and not text:
        raise DomainError(
            f"A {field.replace('_', ' ')} is required.", errors={field: ["Required."]}
        )
    if len(text) > MAX_TEXT:
        raise DomainError(
            f"At most {MAX_TEXT} characters.", errors={field: [f"At most {MAX_TEXT} characters."]}
        )
    return text


def _move(booking, target, *, party, fields: dict, now) -> dict:
    """Check and apply a status move on the locked `booking`; returns the event's before."""
    BOOKING.check(booking.status, target, party=party)
    before = {"status": booking.status}
    booking.status = target
    for name, value in fields.items():
        setattr(booking, name, value)
    booking.updated_at = now
    booking.save(update_fields=["status", *fields, "updated_at"])
    return before


def _iso(value):
    return value.isoformat() if value else None


def ticket_category() -> TicketCategory:
    """Support's "booking" category (DESIGN §4 seeds it; made here if a fresh install lacks it)."""
    category, _ = TicketCategory.objects.get_or_create(
        slug=TICKET_CATEGORY, defaults={"name": "Booking"}
    )
    return category


def _end_follow_up(booking, *, why: str, resolve_ticket: bool = True) -> None:
    """The booking is answered or settled: its follow-up checks are cancelled, and a follow-up
    ticket still open is resolved by the system (unless the outcome is a dispute, which support
    goes on working in that ticket)."""
    if booking.escalated_at is None:
        return
    scheduling.cancel(FollowUpCheck.objects.filter(booking=booking))
    ticket = booking.support_ticket
    if not resolve_ticket or ticket is None or ticket.status in TICKET_DONE:
        return
    support_services.change_status(
        ticket=ticket, to=TicketStatus.RESOLVED, by=None, note=why, system=True
    )


def _follow_up_check_interval() -> timedelta:
    return timedelta(hours=settings.BOOKING_FOLLOW_UP_CHECK_HOURS)


def _schedule_check(booking, *, sequence: int, due_at) -> None:
    scheduling.schedule(
        FollowUpCheck,
        key=f"booking:{booking.pk}:r{booking.completion_round}:check:{sequence}",
        due_at=due_at,
        booking=booking,
        completion_round=booking.completion_round,
        sequence=sequence,
    )


# --- booking and working ------------------------------------------------------------------------


@transaction.atomic
def create_booking(
    *, by, customer, technician, service: str, scheduled_at: datetime, location: str = ""
) -> Booking:
    """A new scheduled booking (support staff), numbered BKG-YYYYMMDD-NNNN, with its event.

    A job is booked with its technician: they alone start it and say it is done.
    """
    can_manage.require(by)
    service = _text(service, field="service", required=True)[:200]
    location = _text(location, field="location")[:300]
    if not customer.is_active or not is_customer_kind(customer):
        raise DomainError("The customer must be an active customer account.",
                          errors={"customer": ["Not a customer."]})  # fmt: skip
    if technician is None or not technician.is_active or not has_role(technician, Role.TECHNICIAN):
        raise DomainError("The technician must be an active technician.",
                          errors={"technician": ["Not a technician."]})  # fmt: skip
    now = timezone.now()
    booking = Booking.objects.create(
        number=daily_number("BKG", at=now),
        customer=customer,
        technician=technician,
        service=service,
        location=location,
        scheduled_at=scheduled_at.astimezone(UTC),
        created_at=now,
        updated_at=now,
    )
    _event(
        booking,
        EventKind.CREATED,
        by=by,
        after={"status": booking.status, "scheduled_at": _iso(booking.scheduled_at)},
    )
    return booking


def start(*, booking: Booking, by) -> Booking:
    """The job is under way (its technician, or staff). Starting a started job changes nothing."""
    can_start.require(by, booking)
    with transaction.atomic():
        booking = _locked(booking)
        if booking.status == Status.IN_PROGRESS:
            return booking
        party = TECHNICIAN if can_work(by, booking) else STAFF
        now = timezone.now()
        before = _move(
            booking, Status.IN_PROGRESS, party=party, fields={"started_at": now}, now=now
        )
        _event(booking, EventKind.STARTED, by=by, before=before, after={"status": booking.status})
    return booking


def request_completion(*, booking: Booking, by, note: str = "") -> Booking:
    """The technician says the job is done: the customer has `COMPLETION_ESCALATION_HOURS` to
    answer, by e-mail (signed approve/reject links) and in-app.

    Only the booking's technician; a booking already waiting for its answer is returned as it
    is (a retried request sends nothing twice). Each request is a new round: new links (the old
    ones stop working), a new deadline, a fresh follow-up.
    """
    can_work.require(by, booking)
    note = _text(note, field="note")
    with transaction.atomic():
        booking = _locked(booking)
        if booking.status == Status.PENDING_COMPLETION:
            return booking
        now = timezone.now()
        deadline = now + timedelta(hours=settings.COMPLETION_ESCALATION_HOURS)
        before = _move(
            booking,
            Status.PENDING_COMPLETION,
            party=TECHNICIAN,
            fields={
                "completion_requested_at": now,
                "completion_deadline": deadline,
                "completion_note": note,
                "completion_round": booking.completion_round + 1,
                "link_nonce": secrets.token_hex(16),
                "escalated_at": None,
                "last_reminder_window": None,
                "failed_contact_attempts": 0,
                "first_failed_contact_at": None,
            },
            now=now,
        )
        _event(
            booking,
            EventKind.COMPLETION_REQUESTED,
            by=by,
            before=before,
            after={"status": booking.status, "completion_deadline": _iso(deadline)},
            round=booking.completion_round,
        )
        notifications.completion_requested(booking)
    return booking


# --- the customer's answer ----------------------------------------------------------------------


def _check_link(booking, nonce: str | None) -> None:
    if nonce is not None and (not booking.link_nonce or nonce != booking.link_nonce):
        from .links import LinkRefused

        raise LinkRefused("This link has already been used or was replaced by a newer one.",
                          code="link_used")  # fmt: skip


def approve(*, booking: Booking, by, feedback: str = "", nonce: str | None = None) -> Booking:
    """The customer confirms the job: verified, and only now may they review it.

    The booking's customer only (signed in, or through the signed link, whose `nonce` must still
    be the booking's). A retried approval returns the booking unchanged; a follow-up ticket
    still open is resolved; the technician is told and the customer asked for a review.
    """
    can_respond.require(by, booking)
    feedback = _text(feedback, field="feedback")
    with transaction.atomic():
        booking = _locked(booking)
        if (
            nonce is None
            and booking.status == Status.VERIFIED
            and booking.completion_outcome == Outcome.APPROVED
        ):
            return booking
        _check_link(booking, nonce)
        now = timezone.now()
        before = _move(
            booking,
            Status.VERIFIED,
            party=CUSTOMER,
            fields={
                "verified_at": now,
                "completed_at": now,
                "completion_outcome": Outcome.APPROVED,
                "link_nonce": "",
            },
            now=now,
        )
        _event(
            booking,
            EventKind.APPROVED,
            by=by,
            before=before,
            after={"status": booking.status},
            feedback=feedback,
            via="link" if nonce is not None else "signed_in",
        )
        _end_follow_up(booking, why=f"The customer approved booking {booking.number}.")
        notifications.customer_answered(booking, approved=True)
        notifications.review_requested(booking)
    return booking


def reject(*, booking: Booking, by, reason: str, nonce: str | None = None) -> Booking:
    """The customer says the job is not done: back in progress, and a high-priority support
    ticket (category "booking") linked to the booking.

    Exactly one ticket per rejection: a retried rejection of the same round finds the booking
    rejected and returns it with the ticket it already has. A follow-up ticket still open is
    resolved (the new ticket carries the customer's reason).
    """
    can_respond.require(by, booking)
    reason = _text(reason, field="reason", required=True)
    with transaction.atomic():
        booking = _locked(booking)
        if (
            nonce is None
            and booking.status == Status.IN_PROGRESS
            and booking.rejected_at is not None
            and booking.completion_requested_at is not None
            and booking.rejected_at >= booking.completion_requested_at
        ):
            return booking
        _check_link(booking, nonce)
        BOOKING.check(booking.status, Status.IN_PROGRESS, party=CUSTOMER)
        _end_follow_up(booking, why=f"The customer rejected booking {booking.number}.")
        ticket = support_services.create_ticket(
            by=booking.customer,
            subject=f"Booking {booking.number} rejected: {booking.service}"[:200],
            description=_ticket_description(booking, reason),
            category=ticket_category(),
            priority=Priority.HIGH,
            channel=TicketChannel.WEB,
        )
        now = timezone.now()
        before = _move(
            booking,
            Status.IN_PROGRESS,
            party=CUSTOMER,
            fields={
                "rejected_at": now,
                "rejection_reason": reason,
                "link_nonce": "",
                "escalated_at": None,
                "support_ticket": ticket,
            },
            now=now,
        )
        _event(
            booking,
            EventKind.REJECTED,
            by=by,
            before=before,
            after={"status": booking.status, "ticket": ticket.number},
            reason=reason,
            via="link" if nonce is not None else "signed_in",
        )
        notifications.customer_answered(booking, approved=False)
    return booking


def _ticket_description(booking, reason: str) -> str:
    from django.utils.html import escape

    lines = [
        f"Booking {booking.number}: {booking.service}",
        f"Scheduled: {booking.scheduled_at:%Y-%m-%d %H:%M} UTC",
        f"Location: {booking.location or '-'}",
        f"Technician: {booking.technician.display_name if booking.technician else '-'}",
    ]
    if reason:
        lines.append(f"The customer's reason: {reason}")
    return "".join(f"<p>{escape(line)}</p>" for line in lines)


def leave_review(*, booking: Booking, by, rating: int, comment: str = "") -> Review:
    """The customer's rating (1–5) of verified work, once per booking (409 otherwise)."""
    can_respond.require(by, booking)
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise DomainError("The rating is a whole number from 1 to 5.",
                          errors={"rating": ["From 1 to 5."]})  # fmt: skip
    comment = _text(comment, field="comment")
    with transaction.atomic():
        booking = _locked(booking)
        if booking.status != Status.VERIFIED:
            raise Conflict(
                "Only verified work can be reviewed.",
                code="not_verified",
                extra={"status": booking.status},
            )
        if Review.objects.filter(booking=booking).exists():
            raise Conflict("This booking has been reviewed already.", code="already_reviewed")
        review = Review.objects.create(
            booking=booking, rating=rating, comment=comment, created_at=timezone.now()
        )
        _event(booking, EventKind.REVIEWED, by=by, after={"rating": rating})
        notifications.reviewed(booking, review)
    return review


# --- support's follow-up ------------------------------------------------------------------------


def _escalate(booking_pk: int, *, by=None, manual: bool, now) -> tuple[Booking, bool]:
    """Under the booking's lock: start the follow-up (a support ticket routed and assigned by
    the booking category's team strategy) unless it has started or the booking was answered."""
    with transaction.atomic():
        booking = _locked(Booking(pk=booking_pk))
        if booking.status != Status.PENDING_COMPLETION:
            if manual:
                raise Conflict(
                    "Only a booking waiting for the customer's answer can be followed up.",
                    code="not_pending",
                    extra={"status": booking.status},
                )
            return booking, False
        if booking.escalated_at is not None:
            return booking, False
        if not manual and booking.completion_deadline > now:
            return booking, False
        ticket = support_services.create_ticket(
            by=by,
            subject=f"Follow up booking {booking.number}: {booking.service}"[:200],
            # The customer sees this ticket among their requests: the text is written for them
            # (support's steps are on the booking's desk page).
            description=_ticket_description(booking, "")
            + "<p>We have not heard whether this job was done to your satisfaction, so our "
            "support team will get in touch with you.</p>",
            customer=booking.customer,
            category=ticket_category(),
            channel=TicketChannel.INTERNAL,
        )
        if manual and by is not None:
            # Whoever starts the follow-up by hand owns it (and its ticket); the job's follow-up
            # is assigned by the booking team's strategy when the ticket is routed.
            ticket = support_services.claim_ticket(ticket=ticket, by=by)
        booking.escalated_at = now
        booking.support_ticket = ticket
        booking.follow_up_agent = by if manual else None
        booking.updated_at = now
        booking.save(
            update_fields=["escalated_at", "support_ticket", "follow_up_agent", "updated_at"]
        )
        _schedule_check(booking, sequence=1, due_at=now + _follow_up_check_interval())
        _event(
            booking,
            EventKind.ESCALATED,
            by=by,
            after={"ticket": ticket.number},
            manual=manual,
            deadline=_iso(booking.completion_deadline),
        )
        notifications.escalated(booking)
    return booking, True


def initiate_follow_up(*, booking: Booking, by) -> Booking:
    """Support starts the follow-up now, before the deadline (staff). Idempotent."""
    can_manage.require(by, booking)
    booking, _ = _escalate(booking.pk, by=by, manual=True, now=timezone.now())
    return booking


def log_contact_attempt(
    *, booking: Booking, by, method: str, reached: bool, notes: str = ""
) -> ContactAttempt:
    """One try of support's to reach the customer of a booking in follow-up (staff)."""
    can_manage.require(by, booking)
    if method not in ContactMethod.values:
        raise DomainError(f"{method!r} is not a contact method.",
                          errors={"method": ["Not a contact method."]})  # fmt: skip
    if not isinstance(reached, bool):
        raise DomainError(
            "Say whether the customer was reached.", errors={"reached": ["Required."]}
        )
    notes = _text(notes, field="notes")
    with transaction.atomic():
        booking = _locked(booking)
        if not booking.in_follow_up:
            raise Conflict(
                "Contact attempts are logged during a follow-up; start the follow-up first.",
                code="not_in_follow_up",
                extra={"status": booking.status},
            )
        now = timezone.now()
        attempt = ContactAttempt.objects.create(
            booking=booking, method=method, reached=reached, notes=notes, agent=by, attempted_at=now
        )
        if not reached:
            booking.failed_contact_attempts += 1
            booking.first_failed_contact_at = booking.first_failed_contact_at or now
        booking.follow_up_agent_id = booking.follow_up_agent_id or by.pk
        booking.updated_at = now
        booking.save(
            update_fields=[
                "failed_contact_attempts",
                "first_failed_contact_at",
                "follow_up_agent",
                "updated_at",
            ]
        )
        _event(
            booking,
            EventKind.CONTACT_ATTEMPTED,
            by=by,
            after={"method": method, "reached": reached},
            attempt=attempt.pk,
        )
    return attempt


def complete(*, booking: Booking, by, outcome: str, notes: str = "") -> Booking:
    """Support settles a completion: customer confirmed or unreachable → verified, disputed →
    disputed (staff). Retrying the same outcome changes nothing."""
    can_manage.require(by, booking)
    if outcome not in SUPPORT_OUTCOMES:
        raise DomainError(f"{outcome!r} is not an outcome support may record.",
                          errors={"outcome": ["Not a valid outcome."]})  # fmt: skip
    notes = _text(notes, field="notes")
    target = SUPPORT_OUTCOMES[outcome]
    with transaction.atomic():
        booking = _locked(booking)
        if booking.status == target and booking.completion_outcome == outcome:
            return booking
        now = timezone.now()
        fields = {"completed_at": now, "completion_outcome": outcome, "link_nonce": ""}
        if target == Status.VERIFIED:
            fields["verified_at"] = now
        before = _move(booking, target, party=STAFF, fields=fields, now=now)
        _event(
            booking,
            EventKind.COMPLETED,
            by=by,
            before=before,
            after={"status": booking.status, "outcome": outcome},
            notes=notes,
        )
        _end_follow_up(
            booking,
            why=f"Booking {booking.number} completed: {outcome}.",
            resolve_ticket=target == Status.VERIFIED,
        )
        notifications.settled(booking)
        if target == Status.VERIFIED:
            notifications.review_requested(booking)
    return booking


def cancel(*, booking: Booking, by, reason: str = "") -> Booking:
    """Support cancels a job that is not finished (staff)."""
    can_manage.require(by, booking)
    reason = _text(reason, field="reason")
    with transaction.atomic():
        booking = _locked(booking)
        if booking.status == Status.CANCELLED:
            return booking
        now = timezone.now()
        before = _move(booking, Status.CANCELLED, party=STAFF, fields={}, now=now)
        _event(
            booking, EventKind.CANCELLED, by=by, before=before, after={"status": booking.status},
            reason=reason,
        )  # fmt: skip
    return booking


def _auto_complete(booking_pk: int, *, now) -> bool:
    with transaction.atomic():
        booking = _locked(Booking(pk=booking_pk))
        if not _due_for_auto_completion(booking, now):
            return False
        before = _move(
            booking,
            Status.VERIFIED,
            party=SYSTEM,
            fields={
                "verified_at": now,
                "completed_at": now,
                "completion_outcome": Outcome.AUTO,
                "link_nonce": "",
            },
            now=now,
        )
        _event(
            booking,
            EventKind.AUTO_COMPLETED,
            before=before,
            after={"status": booking.status, "outcome": Outcome.AUTO},
            failed_attempts=booking.failed_contact_attempts,
        )
        _end_follow_up(booking, why=f"Booking {booking.number} completed automatically.")
        notifications.settled(booking)
        notifications.review_requested(booking)
    return True


def _due_for_auto_completion(booking, now) -> bool:
    return (
        booking.in_follow_up
        and booking.failed_contact_attempts >= settings.MIN_CONTACT_ATTEMPTS
        and booking.first_failed_contact_at is not None
        and booking.first_failed_contact_at <= now - timedelta(days=settings.AUTO_COMPLETE_DAYS)
    )


def check_follow_up(check: FollowUpCheck) -> None:
    """The handler of a due `FollowUpCheck` (the kernel's sweep, in the row's transaction).

    Moot once the booking left this round's follow-up. Otherwise, if nobody tried to reach the
    customer since the previous check, the follow-up's owner (the ticket's assignee, else whoever
    started it, else the support leads on duty) is reminded through the outbox; either way the
    next check is scheduled, so a follow-up is looked at until it is settled.
    """
    booking = _locked(check.booking)
    if not booking.in_follow_up or booking.completion_round != check.completion_round:
        return
    interval = _follow_up_check_interval()
    since = check.due_at - interval
    if not booking.contact_attempts.filter(attempted_at__gte=since).exists():
        people = _follow_up_owners(booking)
        notifications.follow_up_due(booking, people, key=check.idempotency_key)
        _event(
            booking,
            EventKind.FOLLOW_UP_DUE,
            after={"notified": [person.pk for person in people]},
            check=check.sequence,
        )
    _schedule_check(booking, sequence=check.sequence + 1, due_at=check.due_at + interval)


def _follow_up_owners(booking) -> list:
    from support.notifications import on_duty_leads

    ticket = booking.support_ticket
    if ticket is not None and ticket.assigned_to_id and ticket.assigned_to.is_active:
        return [ticket.assigned_to]
    if booking.follow_up_agent_id and booking.follow_up_agent.is_active:
        return [booking.follow_up_agent]
    return on_duty_leads()


# --- the jobs -----------------------------------------------------------------------------------


def _each(candidates, work, *, batch_size: int, max_batches: int) -> int:
    """Runs `work(pk)` for the candidates' ids, `batch_size` at a time; returns how many did
    something. A booking worked drops out of the candidates; one that failed (logged, retried by
    the next run) or that another run took meanwhile is skipped for the rest of this run."""
    done = 0
    skipped: set[int] = set()
    for _ in range(max_batches):
        ids = list(candidates.exclude(pk__in=skipped).values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        for pk in ids:
            try:
                worked = work(pk)
            except Exception:
                logger.exception("Booking %s: the job failed; the next run retries it", pk)
                worked = False
            if worked:
                done += 1
            else:
                skipped.add(pk)
    return done


def escalate_overdue(*, now=None, batch_size: int = JOB_BATCH, max_batches: int = 50) -> int:
    """Hourly: every pending completion past its deadline and not yet followed up gets its
    follow-up. Candidates come from one indexed query (pending by deadline); each is escalated
    under its lock and re-checked, so two runs at once, or an answer racing the run, leave one
    ticket at most."""
    now = now or timezone.now()
    candidates = Booking.objects.filter(
        status=Status.PENDING_COMPLETION,
        escalated_at__isnull=True,
        completion_deadline__lte=now,
    ).order_by("completion_deadline", "pk")
    return _each(
        candidates,
        lambda pk: _escalate(pk, manual=False, now=now)[1],
        batch_size=batch_size,
        max_batches=max_batches,
    )


def reminder_window(now) -> datetime:
    """The start of the 12-hour UTC window `now` falls in (00:00 or 12:00)."""
    now = now.astimezone(UTC)
    return now.replace(hour=0 if now.hour < 12 else 12, minute=0, second=0, microsecond=0)


def remind_customers(*, now=None, batch_size: int = JOB_BATCH, max_batches: int = 50) -> int:
    """12-hourly: one reminder per window to each customer whose deadline falls within the next
    24 hours. Set-based: each batch locks its rows (`SKIP LOCKED`, so a second run at once takes
    other rows or none), marks them reminded for the window with one UPDATE, and writes their
    outbox rows and events in the same transaction (bulk, `core.batch`)."""
    now = now or timezone.now()
    window = reminder_window(now)
    due = (
        Booking.objects.filter(
            status=Status.PENDING_COMPLETION,
            completion_deadline__gt=now,
            completion_deadline__lte=now + REMINDER_HORIZON,
        )
        .exclude(last_reminder_window__gte=window)
        .order_by("completion_deadline", "pk")
    )
    sent = 0
    for _ in range(max_batches):
        with transaction.atomic(), batch.batched():
            rows = list(
                due.select_for_update(of=("self",), skip_locked=True).select_related(
                    "customer", "technician"
                )[:batch_size]
            )
            if not rows:
                break
            Booking.objects.filter(pk__in=[b.pk for b in rows]).update(
                last_reminder_window=window, updated_at=now
            )
            for booking in rows:
                booking.last_reminder_window = window
                notifications.reminder(booking, window)
                _event(
                    booking,
                    EventKind.REMINDER_SENT,
                    after={"window": _iso(window)},
                    deadline=_iso(booking.completion_deadline),
                )
            sent += len(rows)
        if len(rows) < batch_size:
            break
    return sent


def auto_complete(*, now=None, batch_size: int = JOB_BATCH, max_batches: int = 50) -> int:
    """Daily: follow-ups with at least `MIN_CONTACT_ATTEMPTS` failed attempts, the first at
    least `AUTO_COMPLETE_DAYS` ago, are verified with outcome "auto". One indexed query for the
    candidates; each is re-checked under its lock, so a run twice at once completes each once."""
    now = now or timezone.now()
    candidates = Booking.objects.filter(
        status=Status.PENDING_COMPLETION,
        escalated_at__isnull=False,
        first_failed_contact_at__lte=now - timedelta(days=settings.AUTO_COMPLETE_DAYS),
        failed_contact_attempts__gte=settings.MIN_CONTACT_ATTEMPTS,
    ).order_by("first_failed_contact_at", "pk")
    return _each(
        candidates,
        lambda pk: _auto_complete(pk, now=now),
        batch_size=batch_size,
        max_batches=max_batches,
    )
