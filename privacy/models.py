"""Privacy requests (export, erasure), legal holds, retention policies and their audit trail."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.attachments import get_bucket_storage
from core.models import Organization
from core.models.audit import AuditEvent
from core.scheduling import ScheduledWork
from support.models import Ticket

BUCKET = "privacy-exports"


def export_storage():
    return get_bucket_storage(BUCKET)


class RequestKind(models.TextChoices):
    EXPORT = "export", "Subject access export"
    ERASURE = "erasure", "Erasure"


class RequestStatus(models.TextChoices):
    # Waiting for a lead's confirmation (erasure always; an export with internal notes).
    PENDING = "pending", "Awaiting confirmation"
    # Confirmed: an export is queued, an erasure waits out its grace period.
    APPROVED = "approved", "Confirmed"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    BLOCKED = "blocked", "Blocked by a legal hold"
    FAILED = "failed", "Failed"


OPEN_STATUSES = [RequestStatus.PENDING, RequestStatus.APPROVED, RequestStatus.RUNNING]


class PrivacyRequest(models.Model):
    """One person's export or erasure: who asked, who confirmed, how far it got, what it did."""

    kind = models.CharField(max_length=10, choices=RequestKind.choices)
    status = models.CharField(
        max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    # The person: an account, or an address that wrote without one (subject_user empty).
    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="privacy_requests",
    )
    subject_email = models.EmailField(help_text="Lower-case; replaced by a placeholder on erasure.")
    include_internal_notes = models.BooleanField(
        default=False, help_text="Exports of staff members only, with a lead's approval."
    )
    reason = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)
    # An erasure runs at the end of its grace period (cancellable until then).
    due_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    progress_note = models.CharField(max_length=200, blank=True)
    archive = models.FileField(storage=export_storage, max_length=300, blank=True)
    archive_size = models.PositiveBigIntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="The download link's end.")
    # What was done, as counts per kind (never the values).
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "kind"], name="privacy_req_status_kind")]

    def __str__(self):
        return self.number

    @property
    def number(self) -> str:
        return f"PRQ-{self.pk:06d}" if self.pk else "PRQ-new"


class LegalHold(models.Model):
    """While active, nothing of the organisation or ticket is erased or aged out."""

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.TextField()
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    placed_at = models.DateTimeField(default=timezone.now)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-placed_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(organization__isnull=False, ticket__isnull=True)
                | Q(organization__isnull=True, ticket__isnull=False),
                name="privacy_hold_one_target",
            )
        ]

    def __str__(self):
        if self.ticket_id:
            return f"hold on ticket {self.ticket_id}"
        return f"hold on organisation {self.organization_id}"


class RetentionAction(models.TextChoices):
    DELETE = "delete", "Delete"
    ANONYMISE = "anonymise", "Anonymise"


class RetentionPolicy(models.Model):
    """How long one kind of data (a `core.privacy.RetentionKind`) is kept, and what happens then."""

    kind = models.CharField(max_length=60, unique=True)
    days = models.PositiveIntegerField()
    action = models.CharField(max_length=10, choices=RetentionAction.choices)
    enabled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind"]
        verbose_name_plural = "retention policies"

    def __str__(self):
        return f"{self.kind}: {self.action} after {self.days} days"


class PrivacyEvent(AuditEvent):
    """The audit of privacy work: what was asked, confirmed, downloaded, erased (counts only)."""

    class Kind(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Confirmed"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"
        BLOCKED = "blocked", "Blocked by a hold"
        EXPORTED = "exported", "Export ready"
        DOWNLOADED = "downloaded", "Export downloaded"
        ERASED = "erased", "Erased"
        FAILED = "failed", "Failed"
        HOLD_PLACED = "hold_placed", "Legal hold placed"
        HOLD_RELEASED = "hold_released", "Legal hold released"
        POLICY_CHANGED = "policy_changed", "Retention policy changed"
        RETENTION_RUN = "retention_run", "Retention run"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    request = models.ForeignKey(
        PrivacyRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )

    class Meta(AuditEvent.Meta):
        indexes = [models.Index(fields=["request", "created_at"], name="privacy_event_request")]


class ErasureWork(ScheduledWork):
    """An erasure falling due at the end of its grace period (core scheduled work)."""

    request = models.ForeignKey(PrivacyRequest, on_delete=models.CASCADE, related_name="+")


class RetentionWork(ScheduledWork):
    """One bounded retention batch; a batch that leaves due rows schedules the next."""


class AccountEvent(AuditEvent):
    """Sign-ins, failed sign-ins, sign-outs and role changes: what an auditor asks for beside
    each domain's own audit events."""

    class Kind(models.TextChoices):
        SIGNED_IN = "signed_in", "Signed in"
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        SIGNED_OUT = "signed_out", "Signed out"
        ROLES_CHANGED = "roles_changed", "Roles changed"
        PASSWORD_CHANGED = "password_changed", "Password changed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(AuditEvent.Meta):
        indexes = [models.Index(fields=["created_at"], name="privacy_account_event_at")]


class AuditSeal(models.Model):
    """One link of the hash chain over every audit table's rows.

    `row_hash` is an HMAC of the row's content; `chain_hash` = SHA-256(previous chain_hash +
    row_hash), so an altered or deleted row, and a removed or altered seal, break verification.
    A row anonymised by erasure is sealed again (a later link with `reason`), in the chain too.
    """

    table = models.CharField(max_length=100)
    row_id = models.BigIntegerField()
    row_hash = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    chain_hash = models.CharField(max_length=64)
    reason = models.CharField(max_length=100, blank=True)
    sealed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["table", "row_id"], name="privacy_seal_row")]

    def __str__(self):
        return f"seal {self.pk} of {self.table} {self.row_id}"
