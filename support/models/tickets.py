from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import EmailValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.attachments import get_bucket_storage
from core.crypto import EncryptedCharField, KeyedHashField
from core.models import Organization
from core.models.audit import AuditEvent
from core.privacy import ERASED

from ..querysets import TicketQuerySet
from .catalog import Category, Tag
from .choices import PRIORITY_RANK, Channel, LinkKind, Priority, SenderType, Status
from .sla import SLAPolicy
from .teams import Team

ACTIVE_STATUS_VALUES = [
    "open",
    "assigned",
    "in_progress",
    "waiting_on_customer",
    "waiting_on_internal",
]
# Which tickets have a running clock (used by the monitor and its partial indexes).
RESPONSE_RUNNING = Q(
    sla_policy__isnull=False,
    first_responded_at__isnull=True,
    status__in=ACTIVE_STATUS_VALUES,
)
RESOLUTION_RUNNING = Q(
    sla_policy__isnull=False,
    resolved_at__isnull=True,
    sla_paused_at__isnull=True,
    status__in=["open", "assigned", "in_progress", "waiting_on_internal"],
)

ACTIVE = Q(status__in=ACTIVE_STATUS_VALUES)
FINAL = Q(status__in=["closed", "cancelled"])
# Urgent 0 ... low 3: the queue's priority order, with an index on the same expression.
PRIORITY_RANK_EXPRESSION = models.Case(
    *[models.When(priority=key, then=models.Value(rank)) for key, rank in PRIORITY_RANK.items()],
    default=models.Value(len(PRIORITY_RANK)),
    output_field=models.IntegerField(),
)

# Waiting for an automatic assignment (the sweep's query, and its partial index).
AWAITING_AGENT = Q(status="open", assigned_to__isnull=True, team__isnull=False)


class Ticket(models.Model):
    # Unique by a constraint, not `unique=True`, which would add a second (LIKE) index that no
    # query uses; numbers are stored upper-case and looked up as such (`selectors.with_number`).
    number = models.CharField(max_length=32, editable=False)
    subject = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Sanitised HTML.")
    description_text = models.TextField(blank=True, help_text="Plain-text form of the description.")

    # The foreign keys whose column leads a composite index below have no index of their own:
    # each index is paid on every ticket INSERT (and in every plan of a ticket query).
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        db_index=False,
    )
    # Encrypted at rest (core.crypto), found by exact match through the keyed hash beside each
    # (`Ticket.objects.with_customer_email`, `.with_customer`); not in the search document.
    customer_email = EncryptedCharField(
        max_length=254,
        validators=[EmailValidator()],
        help_text="Where replies go; the customer's address, stored lower-case.",
    )
    customer_email_hash = KeyedHashField(source="customer_email")
    customer_name = EncryptedCharField(max_length=200, blank=True)
    customer_name_hash = KeyedHashField(source="customer_name")
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
        db_index=False,
    )

    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.MEDIUM)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.OPEN)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
        db_index=False,
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
        db_index=False,
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")

    # SLA: due times are computed by support.sla from the policy and its business calendar.
    sla_policy = models.ForeignKey(
        SLAPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    # The nearest running deadline, kept in step by the services; the queue sorts by it.
    sla_due_at = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    sla_paused_minutes = models.FloatField(default=0, help_text="Working minutes spent paused.")
    # Finished pauses of the resolution clock, [[start, end], ...] in ISO 8601, oldest first.
    sla_pauses = models.JSONField(default=list, blank=True)
    response_warned = models.BooleanField(default=False)
    response_breached = models.BooleanField(default=False)
    resolution_warned = models.BooleanField(default=False)
    resolution_breached = models.BooleanField(default=False)
    # Effective targets in working minutes: the policy's, or a support lead's override.
    response_target_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_target_minutes = models.PositiveIntegerField(null=True, blank=True)
    sla_overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sla_overridden_at = models.DateTimeField(null=True, blank=True)
    sla_override_reason = models.TextField(blank=True)
    # When the warning threshold of each clock is reached (the monitor selects by these).
    response_warn_at = models.DateTimeField(null=True, blank=True)
    resolution_warn_at = models.DateTimeField(null=True, blank=True)
    response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    # Working minutes actually taken, fixed when each clock stops (for reports).
    first_response_working_minutes = models.FloatField(null=True, blank=True)
    resolution_working_minutes = models.FloatField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True)

    last_message_at = models.DateTimeField(null=True, blank=True)
    customer_last_reply_at = models.DateTimeField(null=True, blank=True)

    satisfaction_rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    satisfaction_comment = models.TextField(blank=True)
    nps_score = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    rated_at = models.DateTimeField(null=True, blank=True)

    # Weighted full-text document (subject, customer, organisation, description) kept by the
    # trigger `core.search` installs (migration 0009) and indexed with GIN; on SQLite the same
    # document lives in an FTS5 table kept by triggers, and this column stays empty.
    search_document = SearchVectorField(null=True, editable=False)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_tickets"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "priority"], name="support_tkt_status_prio"),
            models.Index(fields=["assigned_to", "status"], name="support_tkt_assignee_status"),
            models.Index(fields=["team", "status"], name="support_tkt_team_status"),
            # One status in SLA order (the waiting view, whose clocks are mostly paused: the id
            # orders the tickets without a due time instead of a sort of all of them).
            models.Index(fields=["status", "sla_due_at", "id"], name="support_tkt_status_due"),
            # The agent queue: active tickets in SLA order, read straight off the index.
            models.Index(
                fields=["sla_due_at", "id"],
                name="support_tkt_queue",
                condition=Q(status__in=ACTIVE_STATUS_VALUES),
            ),
            # The SLA monitor's queries: each partial index holds only the tickets whose clock
            # can still change state, so a run costs what changes, not the table.
            models.Index(
                fields=["response_warn_at"],
                name="support_tkt_response_warn",
                condition=RESPONSE_RUNNING & Q(response_warned=False),
            ),
            models.Index(
                fields=["first_response_due_at"],
                name="support_tkt_response_due",
                condition=RESPONSE_RUNNING & Q(response_breached=False),
            ),
            models.Index(
                fields=["resolution_warn_at"],
                name="support_tkt_resolution_warn",
                condition=RESOLUTION_RUNNING & Q(resolution_warned=False),
            ),
            models.Index(
                fields=["resolution_due_at"],
                name="support_tkt_resolution_due",
                condition=RESOLUTION_RUNNING & Q(resolution_breached=False),
            ),
            models.Index(
                fields=["next_escalation_at"],
                name="support_tkt_next_escalation",
                condition=Q(next_escalation_at__isnull=False),
            ),
            models.Index(fields=["customer", "created_at"], name="support_tkt_customer"),
            models.Index(fields=["organization", "created_at"], name="support_tkt_org"),
            models.Index(fields=["created_at", "id"], name="support_tkt_created"),
            models.Index(fields=["customer_email_hash"], name="support_tkt_customer_email"),
            models.Index(
                fields=["customer_name_hash"],
                name="support_tkt_customer_name",
                condition=~Q(customer_name_hash=""),
            ),
            # Retention's anonymise batches: the oldest closed tickets not yet anonymised, by
            # id, without walking past the ones earlier batches anonymised (support.privacy).
            models.Index(
                fields=["id"],
                name="support_tkt_retention_due",
                condition=Q(status__in=["closed", "cancelled"]) & ~Q(subject=ERASED),
            ),
            models.Index(
                fields=["team", "created_at"],
                name="support_tkt_awaiting_agent",
                condition=AWAITING_AGENT,
            ),
            models.Index(
                fields=["resolved_at"],
                name="support_tkt_resolved",
                condition=Q(status="resolved"),
            ),
            # The desk queue at a million tickets: its view counts read this index alone
            # (index-only: every column the counts and the agents' visibility test is in it)...
            models.Index(
                fields=["team", "assigned_to"],
                include=[
                    "id",
                    "status",
                    "sla_due_at",
                    "response_warned",
                    "resolution_warned",
                    "response_breached",
                    "resolution_breached",
                ],
                name="support_tkt_active_counts",
                condition=ACTIVE,
            ),
            # ...and each order it offers is read off an index in that order, for the active
            # views and for the finished one, so the first page never sorts the whole view.
            models.Index(
                PRIORITY_RANK_EXPRESSION,
                models.F("sla_due_at"),
                models.F("id").desc(),
                name="support_tkt_active_priority",
                condition=ACTIVE,
            ),
            # At risk is a handful of tickets among the active ones: without its own index the
            # view reads every visible active row to find them (240 ms at a million tickets).
            models.Index(
                fields=["sla_due_at"],
                name="support_tkt_at_risk",
                condition=ACTIVE
                & (Q(response_warned=True) | Q(resolution_warned=True))
                & Q(response_breached=False)
                & Q(resolution_breached=False),
            ),
            models.Index(
                fields=["created_at", "id"], name="support_tkt_active_created", condition=ACTIVE
            ),
            models.Index(
                fields=["updated_at", "id"], name="support_tkt_active_updated", condition=ACTIVE
            ),
            models.Index(
                fields=["updated_at", "id"], name="support_tkt_final_updated", condition=FINAL
            ),
        ]
        constraints = [models.UniqueConstraint(fields=["number"], name="support_tkt_number_unique")]

    def __str__(self):
        return f"{self.number} {self.subject}"


class TicketMessage(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sender_type = models.CharField(max_length=10, choices=SenderType.choices)
    body_html = models.TextField(help_text="Sanitised HTML.")
    body_text = models.TextField(help_text="Plain-text form.")
    is_internal = models.BooleanField(default=False, help_text="An internal note: staff only.")
    email_message_id = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="support_msg_ticket_created"),
            models.Index(fields=["sender_type"], name="support_msg_sender_type"),
            models.Index(
                fields=["email_message_id"],
                name="support_msg_email_id",
                condition=~Q(email_message_id=""),
            ),
        ]

    def __str__(self):
        kind = "note" if self.is_internal else "reply"
        return f"{kind} on {self.ticket_id} by {self.sender_type}"


class MessageRecipient(models.Model):
    """Who a message was for, and when it reached and was read by them (read receipts)."""

    message = models.ForeignKey(TicketMessage, on_delete=models.CASCADE, related_name="recipients")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    # Denormalised so unread counts per ticket need no join through messages.
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message", "recipient"], name="support_recipient_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["recipient", "ticket"],
                name="support_recipient_unread",
                condition=Q(read_at__isnull=True),
            )
        ]

    def __str__(self):
        return f"message {self.message_id} to {self.recipient_id}"


def attachment_storage():
    return get_bucket_storage("support-attachments")


def attachment_upload_to(instance, filename):
    return instance.storage_key or filename


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    # No message: a file sent with the request itself (contact form, a new e-mail, the API's
    # create), shown with the description.
    message = models.ForeignKey(
        TicketMessage,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file = models.FileField(
        storage=attachment_storage,
        upload_to=attachment_upload_to,
        max_length=300,
    )
    storage_key = models.CharField(max_length=300, editable=False)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.original_name


class TicketEvent(AuditEvent):
    """Append-only audit of a ticket: who did what, when, with before and after."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        STATUS_CHANGED = "status_changed", "Status changed"
        ASSIGNED = "assigned", "Assigned"
        UNASSIGNED = "unassigned", "Unassigned"
        PRIORITY_CHANGED = "priority_changed", "Priority changed"
        UPDATED = "updated", "Fields updated"
        REPLIED = "replied", "Public reply"
        NOTE_ADDED = "note_added", "Internal note"
        ATTACHMENT_ADDED = "attachment_added", "Attachment added"
        MERGED = "merged", "Merged"
        LINKED = "linked", "Linked"
        FOLLOW_UP_CREATED = "follow_up_created", "Follow-up created"
        RATED = "rated", "Rated"
        SLA_CHANGED = "sla_changed", "SLA changed"
        SLA_WARNING = "sla_warning", "SLA warning"
        SLA_BREACHED = "sla_breached", "SLA breached"
        ESCALATED = "escalated", "Escalated"
        REMINDED = "reminded", "Reminder sent"
        ACCESS_LINK_OPENED = "access_opened", "Opened by e-mailed link"
        ARTICLE_LINKED = "article_linked", "Article linked"
        ARTICLE_UNLINKED = "article_unlinked", "Article unlinked"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    note = models.TextField(blank=True)
    is_internal = models.BooleanField(
        default=True, help_text="Internal events are shown to staff only."
    )

    class Meta(AuditEvent.Meta):
        indexes = [models.Index(fields=["ticket", "created_at"], name="support_event_ticket")]

    def __str__(self):
        return f"{self.kind} on {self.ticket_id}"


class TicketLink(models.Model):
    source = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_out")
    target = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(max_length=12, choices=LinkKind.choices, default=LinkKind.RELATED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target", "kind"], name="support_link_unique"
            ),
            models.CheckConstraint(
                condition=~Q(source=models.F("target")), name="support_link_not_self"
            ),
        ]

    def __str__(self):
        return f"{self.source_id} {self.kind} {self.target_id}"
