"""Insurance documents (DESIGN §7): the file and its policy, the reviewers' requests, the record.

`InsuranceDocument` is one version of a proof of insurance; a replacement is a new row that
names the one it replaces (`replaces`). `InfoRequest` is a reviewer's checklist of what is
missing, `InfoRequestItem` one entry of it with the upload that answered it. `DocumentActivity`
is the append-only audit trail (`core.audit`), `Reminder` the scheduled work of the expiry and
missing-information reminders (`core.scheduling`, which owns its state).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.attachments import get_bucket_storage
from core.models import Organization
from core.models.audit import AuditEvent
from core.scheduling import ScheduledWork, WorkState, due_index

BUCKET = "insurance-docs"


def document_storage():
    """The bucket's storage as configured now (a FileField resolves its callable only once, at
    class definition; reads go through this so a changed STORAGES setting is honoured)."""
    return get_bucket_storage(BUCKET)


class Status(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    UNDER_REVIEW = "under_review", "Under review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    INFO_REQUESTED = "info_requested", "Information requested"
    EXPIRED = "expired", "Expired"
    SUPERSEDED = "superseded", "Superseded"


class CoverageType(models.TextChoices):
    GENERAL_LIABILITY = "general_liability", "General liability"
    PROFESSIONAL_LIABILITY = "professional_liability", "Professional liability"
    WORKERS_COMPENSATION = "workers_compensation", "Workers' compensation"
    PROPERTY = "property", "Property"
    AUTO = "auto", "Auto"
    OTHER = "other", "Other"


class StoredFileFields(models.Model):
    """A file in the `insurance-docs` bucket and what the upload check found out about it."""

    file = models.FileField(storage=document_storage, max_length=300)
    file_name = models.CharField(max_length=255, help_text="The safe form of the uploaded name.")
    content_type = models.CharField(max_length=100, help_text="Sniffed from the content.")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        abstract = True


class InsuranceDocument(StoredFileFields):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="insurance_documents"
    )
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="insurance_documents",
        help_text="The owner's organisation when the document was submitted.",
    )
    policy_number = models.CharField(max_length=100)
    insurer = models.CharField(max_length=200)
    coverage_type = models.CharField(max_length=32, choices=CoverageType.choices)
    coverage_start = models.DateField()
    coverage_end = models.DateField(help_text="The last day covered.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reviewed_insurance_documents",
    )
    decision_reason = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    replaces = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replacements",
        help_text="The earlier version this one replaces.",
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "coverage_end"], name="insurance_doc_status_end"),
            models.Index(fields=["owner", "-submitted_at"], name="insurance_doc_owner"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(coverage_end__gt=models.F("coverage_start")),
                name="insurance_doc_end_after_start",
            )
        ]

    def __str__(self):
        return f"{self.insurer} {self.policy_number} ({self.get_status_display()})"


class InfoRequest(models.Model):
    """A reviewer's checklist for one document; open until every item is fulfilled."""

    document = models.ForeignKey(
        InsuranceDocument, on_delete=models.CASCADE, related_name="info_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    fulfilled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            # One open checklist per document: the document is info_requested while it is open.
            models.UniqueConstraint(
                fields=["document"],
                condition=models.Q(fulfilled_at__isnull=True),
                name="insurance_one_open_request",
            )
        ]

    def __str__(self):
        return f"Request {self.pk} on document {self.document_id}"


class InfoRequestItem(models.Model):
    """What is needed and how; fulfilled by the owner's upload (stored with the item)."""

    request = models.ForeignKey(InfoRequest, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    needed = models.CharField(max_length=200, help_text="What is needed.")
    instructions = models.TextField(blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    fulfilled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True, help_text="What the owner wrote with the upload.")
    # The owner's upload; empty until the item is answered.
    file = models.FileField(storage=document_storage, max_length=300, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["request_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["request", "position"], name="insurance_item_position")
        ]

    def __str__(self):
        return self.needed

    @property
    def fulfilled(self) -> bool:
        return self.fulfilled_at is not None


class ActivityKind(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    REVIEW_STARTED = "review_started", "Review started"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    INFO_REQUESTED = "info_requested", "Information requested"
    INFO_PROVIDED = "info_provided", "Information provided"
    REMINDER_SENT = "reminder_sent", "Reminder sent"
    REMINDER_CANCELLED = "reminder_cancelled", "Reminder cancelled"
    UPDATED = "updated", "Updated"
    SUPERSEDED = "superseded", "Superseded"
    EXPIRED = "expired", "Expired"
    DOWNLOADED = "downloaded", "Downloaded"


class DocumentActivity(AuditEvent):
    """One step on a document's record: who, what, when, and the reason (`metadata.reason`)."""

    document = models.ForeignKey(
        InsuranceDocument, on_delete=models.CASCADE, related_name="activities"
    )
    kind = models.CharField(max_length=32, choices=ActivityKind.choices)
    reason = models.TextField(blank=True)

    class Meta(AuditEvent.Meta):
        verbose_name_plural = "document activities"
        indexes = [
            models.Index(fields=["document", "created_at"], name="insurance_activity_doc"),
            models.Index(fields=["created_at", "id"], name="insurance_activity_time"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} on document {self.document_id}"


class ReminderKind(models.TextChoices):
    EXPIRY_7D = "expiry_7d", "Expires in 7 days"
    EXPIRY_3D = "expiry_3d", "Expires in 3 days"
    EXPIRY_0D = "expiry_0d", "Expires today"
    MISSING_INFO = "missing_info", "Information still missing"


EXPIRY_KINDS = (ReminderKind.EXPIRY_7D, ReminderKind.EXPIRY_3D, ReminderKind.EXPIRY_0D)


class Reminder(ScheduledWork):
    """A reminder e-mail to the document's owner, sent by the scheduled-work sweeper when due.

    Its state is `core.scheduling`'s: pending, running, done (= sent), cancelled or failed.
    """

    document = models.ForeignKey(
        InsuranceDocument, on_delete=models.CASCADE, related_name="reminders"
    )
    kind = models.CharField(max_length=20, choices=ReminderKind.choices)
    info_request = models.ForeignKey(
        InfoRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders"
    )
    sequence = models.PositiveSmallIntegerField(
        default=1, help_text="The how-manyeth missing-information reminder of its request."
    )
    manual = models.BooleanField(default=False, help_text="Asked for by a reviewer.")

    class Meta(ScheduledWork.Meta):
        ordering = ["due_at", "pk"]
        indexes = [
            due_index("insurance_reminder_due"),
            models.Index(fields=["document", "due_at"], name="insurance_reminder_doc"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="insurance_reminder_key")
        ]

    @property
    def status(self) -> str:
        """The issue's words: pending, sent, cancelled or failed (running counts as pending)."""
        return {
            WorkState.DONE: "sent",
            WorkState.RUNNING: "pending",
        }.get(self.state, self.state)
