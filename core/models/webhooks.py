"""Outbound webhooks: who listens to which events, and every delivery with its attempts."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def new_secret() -> str:
    return secrets.token_hex(32)


class WebhookSubscription(models.Model):
    """An endpoint of another system that receives signed JSON POSTs for `events`."""

    name = models.CharField(max_length=200)
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="Event names (see core.webhooks.registry).")
    secret = models.CharField(max_length=128, default=new_secret, help_text="HMAC-SHA256 key.")
    active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event for one subscription: the payload as sent and what each attempt got back."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    delivery_id = models.CharField(max_length=36, help_text="Sent as X-Webhook-Delivery.")
    event = models.CharField(max_length=100)
    body = models.TextField(help_text="The JSON body, exactly as signed and sent.")
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    log = models.JSONField(default=list, blank=True, help_text="One entry per attempt.")
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["delivery_id"], name="core_webhookdelivery_id")
        ]
        indexes = [
            models.Index(fields=["subscription", "-created_at"], name="core_webhookdelivery_sub")
        ]

    def __str__(self):
        return f"{self.event} to {self.subscription_id}: {self.status}"
