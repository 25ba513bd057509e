"""Bookings (DESIGN §8): a technician's job, its completion, the customer's verdict, follow-up.

`Booking` is one job at a customer's; its status moves only through `bookings.services`
(the table is `bookings.workflow.BOOKING`). `BookingEvent` is its append-only record
(`core.audit`), `ContactAttempt` one try of support's to reach a silent customer, `Review` the
customer's rating of verified work (one per booking).

The counters on the booking (`failed_contact_attempts`, `first_failed_contact_at`) are kept by
the service that logs an attempt, under the booking's lock, so the daily auto-completion finds
its candidates with one indexed query instead of counting attempts per booking.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from core.models.audit import AuditEvent
from core.scheduling import ScheduledWork, due_index


class Status(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    PENDING_COMPLETION = "pending_completion", "Pending completion"
    VERIFIED = "verified", "Verified"
    DISPUTED = "disputed", "Disputed"
    CANCELLED = "cancelled", "Cancelled"


class Outcome(models.TextChoices):
    """How a completion was settled."""

    APPROVED = "approved", "Approved by the customer"
    CUSTOMER_CONFIRMED = "customer_confirmed", "Customer confirmed to support"
    DISPUTED = "disputed", "Disputed"
    UNREACHABLE = "unreachable", "Customer unreachable"
    AUTO = "auto", "Completed automatically"


#: What support may record when it completes a booking, and the status each leads to.
SUPPORT_OUTCOMES = {
    Outcome.CUSTOMER_CONFIRMED: Status.VERIFIED,
    Outcome.DISPUTED: Status.DISPUTED,
    Outcome.UNREACHABLE: Status.VERIFIED,
}


class Booking(models.Model):
    number = models.CharField(max_length=32, unique=True, help_text="BKG-YYYYMMDD-NNNN")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bookings"
    )
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="technician_bookings",
    )
    service = models.CharField(max_length=200, help_text="What the job is.")
    location = models.CharField(max_length=300, blank=True, help_text="Address or location.")
    scheduled_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    started_at = models.DateTimeField(null=True, blank=True)
    completion_requested_at = models.DateTimeField(null=True, blank=True)
    completion_note = models.TextField(blank=True, help_text="The technician's summary.")
    completion_deadline = models.DateTimeField(
        null=True, blank=True, help_text="The customer's answer is due by then."
    )
    completion_round = models.PositiveSmallIntegerField(
        default=0, help_text="How many times completion was requested."
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    escalated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When support's follow-up started (cleared by a new request).",
    )
    follow_up_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who follows up: who started it, or the first to log a contact attempt.",
    )
    last_reminder_window = models.DateTimeField(
        null=True, blank=True, help_text="Start of the 12-hour window of the last reminder sent."
    )
    failed_contact_attempts = models.PositiveSmallIntegerField(default=0)
    first_failed_contact_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completion_outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    support_ticket = models.ForeignKey(
        "support.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bookings",
        help_text="The support ticket of a rejection or of the follow-up.",
    )
    link_nonce = models.CharField(
        max_length=32,
        blank=True,
        help_text="Names the current approve/reject links; cleared once the customer answers.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-scheduled_at", "-pk"]
        indexes = [
            models.Index(fields=["customer", "-scheduled_at"], name="booking_customer"),
            models.Index(fields=["technician", "-scheduled_at"], name="booking_technician"),
            # The jobs' and the queue's candidates: pending completions by deadline.
            models.Index(
                fields=["completion_deadline"],
                name="booking_pending_deadline",
                condition=models.Q(status="pending_completion"),
            ),
            models.Index(
                fields=["first_failed_contact_at"],
                name="booking_pending_followup",
                condition=models.Q(status="pending_completion", escalated_at__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.number} {self.service}"

    @property
    def in_follow_up(self) -> bool:
        return self.status == Status.PENDING_COMPLETION and self.escalated_at is not None


class EventKind(models.TextChoices):
    CREATED = "created", "Booked"
    STARTED = "started", "Started"
    COMPLETION_REQUESTED = "completion_requested", "Completion requested"
    REMINDER_SENT = "reminder_sent", "Reminder sent"
    APPROVED = "approved", "Approved by the customer"
    REJECTED = "rejected", "Rejected by the customer"
    ESCALATED = "escalated", "Escalated to support"
    CONTACT_ATTEMPTED = "contact_attempted", "Contact attempt"
    FOLLOW_UP_DUE = "follow_up_due", "Follow-up overdue: support reminded"
    COMPLETED = "completed", "Completed by support"
    AUTO_COMPLETED = "auto_completed", "Completed automatically"
    REVIEWED = "reviewed", "Reviewed"
    CANCELLED = "cancelled", "Cancelled"


#: The kinds a customer or technician sees on the timeline (contact attempts are support's).
PUBLIC_KINDS = frozenset(EventKind.values) - {EventKind.CONTACT_ATTEMPTED, EventKind.FOLLOW_UP_DUE}


class BookingEvent(AuditEvent):
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=EventKind.choices)

    class Meta(AuditEvent.Meta):
        indexes = [models.Index(fields=["booking", "created_at"], name="booking_event_booking")]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.booking_id}"


class ContactMethod(models.TextChoices):
    CALL = "call", "Call"
    SMS = "sms", "SMS"
    EMAIL = "email", "E-mail"
    IN_APP = "in_app", "In-app"


class ContactAttempt(models.Model):
    """One try of support's to reach the customer of a booking in follow-up (staff only)."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="contact_attempts")
    method = models.CharField(max_length=10, choices=ContactMethod.choices)
    reached = models.BooleanField()
    notes = models.TextField(blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["attempted_at", "pk"]
        indexes = [models.Index(fields=["booking", "attempted_at"], name="booking_contact")]

    def __str__(self):
        result = "reached" if self.reached else "not reached"
        return f"{self.get_method_display()} on {self.booking_id} ({result})"


class Review(models.Model):
    """The customer's rating of verified work; one per booking."""

    booking = models.OneToOneField(Booking, on_delete=models.CASCADE, related_name="review")
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5), name="booking_review_rating"
            )
        ]

    def __str__(self):
        return f"{self.rating}/5 for {self.booking_id}"


class FollowUpCheck(ScheduledWork):
    """The follow-up's task, checked every `BOOKING_FOLLOW_UP_CHECK_HOURS` while it lasts: if
    nobody tried to reach the customer since the last check, support is reminded. Worked by the
    kernel's scheduled-work sweep (`core.scheduling`, which owns its state)."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="follow_up_checks")
    completion_round = models.PositiveSmallIntegerField()
    sequence = models.PositiveSmallIntegerField(default=1)

    class Meta(ScheduledWork.Meta):
        ordering = ["due_at", "pk"]
        indexes = [
            due_index("booking_followup_due"),
            models.Index(fields=["booking", "due_at"], name="booking_followup_booking"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="booking_followup_key")
        ]
