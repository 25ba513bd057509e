from django.db import models
from django.utils import timezone

from .tickets import Ticket, TicketMessage


class InboundEmail(models.Model):
    """Every mail that reached support, what became of it and why; the original as received.

    Written only by `support.inbound.services.receive`. The Message-ID is unique: a mail
    delivered twice (an ESP retry, an import run again) finds its first record and does nothing.
    """

    class Outcome(models.TextChoices):
        TICKET_CREATED = "ticket_created", "Ticket created"
        REPLY_ADDED = "reply_added", "Reply added"
        FOLLOW_UP = "follow_up", "Follow-up ticket opened"
        IGNORED_AUTOREPLY = "ignored_autoreply", "Ignored: automatic reply"
        IGNORED_BOUNCE = "ignored_bounce", "Ignored: bounce"
        IGNORED_LOOP = "ignored_loop", "Ignored: mail loop"
        RATE_LIMITED = "rate_limited", "Ignored: too many from this sender"
        DUPLICATE = "duplicate", "Duplicate"
        REJECTED = "rejected", "Rejected"

    ACCEPTED_OUTCOMES = (Outcome.TICKET_CREATED, Outcome.REPLY_ADDED, Outcome.FOLLOW_UP)

    email_message_id = models.CharField(max_length=300, help_text="As received, or derived.")
    sender = models.CharField(max_length=254, blank=True, help_text="The From address.")
    sender_name = models.CharField(max_length=200, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    reason = models.TextField(blank=True, help_text="Why this outcome; files that were refused.")
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_emails"
    )
    message = models.ForeignKey(
        TicketMessage,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_emails",
    )
    original_text = models.TextField(blank=True, help_text="The whole body, before trimming.")
    raw_message = models.BinaryField(help_text="The MIME message as received.")

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["email_message_id"], name="support_inbound_message_id_unique"
            )
        ]
        indexes = [
            models.Index(fields=["sender", "received_at"], name="support_inbound_sender_time"),
        ]

    def __str__(self):
        return f"{self.email_message_id} from {self.sender}: {self.outcome}"
