from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from .teams import Team


class EscalationPolicy(models.Model):
    """Ordered levels that fire at an SLA warning or some minutes after a breach."""

    name = models.CharField(max_length=120, unique=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "escalation policies"

    def __str__(self):
        return self.name


class EscalationTrigger(models.TextChoices):
    WARNING = "warning", "At the SLA warning"
    BREACH = "breach", "After the SLA breach"


class EscalationLevel(models.Model):
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="levels")
    level = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    trigger = models.CharField(
        max_length=10, choices=EscalationTrigger.choices, default=EscalationTrigger.BREACH
    )
    delay_minutes = models.PositiveIntegerField(
        default=0, help_text="Minutes after the breach (breach levels only)."
    )
    notify_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    notify_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notify_emails = models.TextField(blank=True, help_text="Addresses, one per line.")
    notify_slack = models.BooleanField(default=False)
    notify_teams = models.BooleanField(default=False)
    reassign_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    raise_priority = models.BooleanField(default=False)

    class Meta:
        ordering = ["policy", "level"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "level"], name="support_escalation_level")
        ]

    def __str__(self):
        return f"{self.policy} level {self.level}"

    @property
    def email_list(self) -> list[str]:
        return [line.strip() for line in self.notify_emails.splitlines() if line.strip()]


class TicketEscalation(models.Model):
    """One escalation of a ticket, automatic or manual. Kept for ever."""

    class Source(models.TextChoices):
        AUTOMATIC = "automatic", "Automatic"
        MANUAL = "manual", "Manual"

    ticket = models.ForeignKey(
        "support.Ticket", on_delete=models.CASCADE, related_name="escalations"
    )
    level = models.PositiveSmallIntegerField()
    source = models.CharField(max_length=10, choices=Source.choices)
    trigger = models.CharField(max_length=10, blank=True)
    reason = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notified = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            # A level is reached once: a second monitor run cannot escalate the same level again.
            models.UniqueConstraint(fields=["ticket", "level"], name="support_escalation_once")
        ]

    def __str__(self):
        return f"{self.ticket_id} level {self.level} ({self.source})"
