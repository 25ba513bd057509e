from django.conf import settings
from django.db import models
from django.utils import timezone

from .audit import AppendOnlyError


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"
    IN_APP = "in_app", "In-app"
    WEBHOOK = "webhook", "Webhook"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class DeliveryState(models.TextChoices):
    """What the ESP last said about a sent e-mail (anymail's normalised tracking event types)."""

    QUEUED = "queued", "Queued at the ESP"
    SENT = "sent", "Sent by the ESP"
    DEFERRED = "deferred", "Deferred (the ESP retries)"
    DELIVERED = "delivered", "Delivered"
    AUTORESPONDED = "autoresponded", "Auto-responded"
    OPENED = "opened", "Opened"
    CLICKED = "clicked", "Clicked"
    BOUNCED = "bounced", "Bounced"
    REJECTED = "rejected", "Rejected by the ESP"
    FAILED = "failed", "Failed at the ESP"
    COMPLAINED = "complained", "Marked as spam"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed at the ESP"
    SUBSCRIBED = "subscribed", "Subscribed at the ESP"
    UNKNOWN = "unknown", "Unknown event"


class OutboxMessage(models.Model):
    """One side effect to deliver, written in the transaction of the change that causes it.

    `key` names the effect (e.g. `ticket:42:created:customer-email`): writing the same effect twice
    yields one row, so a retried request or task never notifies twice.
    """

    # Unique by a constraint, not `unique=True`, whose extra LIKE index no query uses and every
    # notification would pay for.
    key = models.CharField(max_length=200)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.CharField(max_length=500, help_text="Address, phone number or webhook URL.")
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The confirmation e-mail to a suppressed address (the one mail that may reach it).
    ignore_suppression = models.BooleanField(default=False)
    # What the ESP last reported (tracking webhooks), by the time of the event.
    delivery_state = models.CharField(max_length=20, choices=DeliveryState.choices, blank=True)
    delivery_state_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Tracking events find their row by the ESP's message id.
            models.Index(
                fields=["provider_message_id"],
                name="core_outbox_provider_id",
                condition=~models.Q(provider_message_id=""),
            ),
            # The sweeper's query: due rows that are still pending or whose lease ran out.
            models.Index(
                fields=["next_attempt_at"],
                name="core_outbox_pending_due",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["created_at"], name="core_outbox_created"),
        ]
        constraints = [models.UniqueConstraint(fields=["key"], name="core_outbox_key_unique")]

    def __str__(self):
        return f"{self.channel} to {self.recipient}: {self.status}"


class Notification(models.Model):
    """An in-app notification shown in the bell menu of the desk and the help center."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    outbox_message = models.OneToOneField(
        OutboxMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["recipient", "created_at"],
                name="core_notification_unread",
                condition=models.Q(read_at__isnull=True),
            ),
            models.Index(fields=["recipient", "-created_at"], name="core_notification_recent"),
        ]

    def __str__(self):
        return self.title


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses set-based changes; the rows are a log. (A deleted outbox row still cascades.)"""

    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only.")

    def delete(self):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only.")

    update.queryset_only = True
    delete.queryset_only = True


class DeliveryEvent(models.Model):
    """One tracking event the ESP reported (anymail's tracking webhook), append-only.

    `outbox_message` is the row it is about, found by the ESP's message id (and the recipient);
    None when no row matched (sent by something else, or purged since). `dedupe_key` is the ESP's
    event id (or a hash of the raw event when it has none): a webhook retried by the ESP is
    recorded once.
    """

    outbox_message = models.ForeignKey(
        OutboxMessage,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="delivery_events",
    )
    dedupe_key = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=DeliveryState.choices)
    esp_name = models.CharField(max_length=40, blank=True)
    provider_message_id = models.CharField(max_length=300, blank=True)
    recipient = models.CharField(max_length=254, blank=True)
    occurred_at = models.DateTimeField(help_text="When the ESP says it happened.")
    received_at = models.DateTimeField(default=timezone.now)
    description = models.TextField(blank=True)
    mta_response = models.TextField(blank=True)
    raw = models.JSONField(default=dict, blank=True, help_text="The event as the ESP posted it.")

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["occurred_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], name="core_delivery_event_once")
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                name="core_delivery_unmatched",
                condition=models.Q(outbox_message__isnull=True),
            )
        ]

    def __str__(self):
        return f"{self.kind} for {self.recipient or '?'} at {self.occurred_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if not self._state.adding or self.pk is not None:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")


class SuppressionReason(models.TextChoices):
    BOUNCED = "bounced", "Hard bounce"
    COMPLAINED = "complained", "Spam complaint"
    REJECTED = "rejected", "Rejected by the ESP (bad address)"


class LiftedBy(models.TextChoices):
    CONFIRMATION = "confirmation", "The owner confirmed the address"
    STAFF = "staff", "Lifted by staff"


class EmailSuppression(models.Model):
    """An address we stop e-mailing: it bounced hard, complained, or the ESP rejected it.

    Active while `lifted_at` is empty (at most one active row per address); lifting keeps the
    row with who lifted it and how, so the history of an address stays readable. Addresses are
    stored lower-case (mail systems treat the local part case-insensitively in practice).
    """

    address = models.CharField(max_length=254)
    reason = models.CharField(max_length=20, choices=SuppressionReason.choices)
    since = models.DateTimeField(default=timezone.now)
    event = models.ForeignKey(
        DeliveryEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.TextField(blank=True, help_text="The ESP's description or MTA response.")
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_how = models.CharField(max_length=20, choices=LiftedBy.choices, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-since"]
        constraints = [
            models.UniqueConstraint(
                fields=["address"],
                condition=models.Q(lifted_at__isnull=True),
                name="core_suppression_one_active",
            )
        ]
        indexes = [models.Index(fields=["address", "-since"], name="core_suppression_address")]

    def __str__(self):
        state = "lifted" if self.lifted_at else "active"
        return f"{self.address}: {self.get_reason_display()} ({state})"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None


class EmailCategory(models.TextChoices):
    """Optional e-mail a person may turn off (required mail — confirmations, replies to their
    own request, password resets — has no category and cannot be)."""

    UPDATES = "updates", "Status updates about my requests"
    SURVEYS = "surveys", "Satisfaction surveys"


class EmailOptOut(models.Model):
    """An address that does not want one category of optional e-mail.

    Kept per address, not per user: a contact who filed by e-mail and has no account opts out
    through the unsubscribe link the same way a signed-in customer does on the preferences page.
    """

    address = models.CharField(max_length=254)
    category = models.CharField(max_length=20, choices=EmailCategory.choices)
    created_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(
        max_length=20, help_text="Where it was chosen: unsubscribe link, one-click, preferences."
    )

    class Meta:
        ordering = ["address", "category"]
        constraints = [
            models.UniqueConstraint(fields=["address", "category"], name="core_optout_once")
        ]

    def __str__(self):
        return f"{self.address}: no {self.category}"
