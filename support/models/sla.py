from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from core.models import BusinessCalendar
from core.models.users import CustomerTier

from .choices import Priority

# A target longer than a year of minutes is a typo, and would push due times past any calendar.
MAX_TARGET_MINUTES = 525_600
TARGET_VALIDATORS = [MinValueValidator(1), MaxValueValidator(MAX_TARGET_MINUTES)]


class SLAPolicy(models.Model):
    """Targets for one priority (and optionally one customer tier). Most specific active wins."""

    name = models.CharField(max_length=120)
    priority = models.CharField(max_length=10, choices=Priority.choices)
    customer_tier = models.CharField(
        max_length=20, choices=CustomerTier.choices, blank=True, help_text="Blank: any tier."
    )
    first_response_minutes = models.PositiveIntegerField(validators=TARGET_VALIDATORS)
    resolution_minutes = models.PositiveIntegerField(validators=TARGET_VALIDATORS)
    warning_percent = models.PositiveSmallIntegerField(
        default=80, validators=[MinValueValidator(1), MaxValueValidator(99)]
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Blank: the clock runs 24/7.",
    )
    auto_escalate = models.BooleanField(default=True)
    notify_on_warning = models.BooleanField(default=True)
    notify_on_breach = models.BooleanField(default=True)
    escalation_policy = models.ForeignKey(
        "support.EscalationPolicy",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sla_policies",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority", "customer_tier"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(
                fields=["priority", "customer_tier"],
                condition=Q(is_active=True),
                name="support_sla_one_active_per_scope",
            )
        ]

    def __str__(self):
        return self.name
