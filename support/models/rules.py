"""Business rules: triggers (on ticket events) and automations (on time), their history and runs.

A rule is data: ordered conditions (all or any) and ordered actions, as JSON lists validated by
`support.rules.conditions` and `support.rules.actions`. Rules are never deleted, only archived,
so their history (`RuleEvent`, one snapshot per version) stays readable.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.models.audit import AuditEvent
from core.scheduling import ScheduledWork, due_index

from .tickets import Ticket


class RuleKind(models.TextChoices):
    TRIGGER = "trigger", "Trigger"
    AUTOMATION = "automation", "Automation"


class Match(models.TextChoices):
    ALL = "all", "All conditions"
    ANY = "any", "Any condition"


class TriggerEvent(models.TextChoices):
    CREATED = "created", "Ticket created"
    UPDATED = "updated", "Ticket updated"
    PUBLIC_REPLY = "public_reply", "Public reply"
    NOTE = "note", "Internal note"
    STATUS_CHANGED = "status_changed", "Status changed"
    SLA_WARNING = "sla_warning", "SLA warning"
    SLA_BREACHED = "sla_breached", "SLA breach"
    SATISFACTION = "satisfaction", "Satisfaction received"


class Anchor(models.TextChoices):
    """The ticket time an automation counts from."""

    CREATED_AT = "created_at", "Created"
    UPDATED_AT = "updated_at", "Last updated"
    RESOLVED_AT = "resolved_at", "Resolved"
    LAST_MESSAGE_AT = "last_message_at", "Last message"
    CUSTOMER_LAST_REPLY_AT = "customer_last_reply_at", "Customer's last reply"


class RuleQuerySet(models.QuerySet):
    def live(self):
        return self.filter(archived_at__isnull=True)

    def triggers(self):
        return self.live().filter(kind=RuleKind.TRIGGER)

    def automations(self):
        return self.live().filter(kind=RuleKind.AUTOMATION)

    def in_order(self):
        return self.order_by("position", "pk")


class Rule(models.Model):
    """A trigger or an automation. Changed only through `support.rules.services`."""

    kind = models.CharField(max_length=12, choices=RuleKind.choices)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Lower runs first.")
    enabled = models.BooleanField(default=False)
    match = models.CharField(max_length=3, choices=Match.choices, default=Match.ALL)
    conditions = models.JSONField(default=list, blank=True)
    actions = models.JSONField(default=list)
    events = models.JSONField(default=list, blank=True, help_text="Triggers: the events.")
    stop_processing = models.BooleanField(
        default=False, help_text="Triggers: later triggers do not run after this one matched."
    )
    anchor = models.CharField(max_length=24, choices=Anchor.choices, blank=True)
    after_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Automations: minutes after the anchor time."
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Whose rights the rule acts with (its last editor); none for shipped rules.",
    )
    version = models.PositiveIntegerField(default=1)
    disabled_reason = models.TextField(blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RuleQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "position", "pk"]
        indexes = [
            models.Index(
                fields=["kind", "position"],
                name="support_rule_enabled",
                condition=models.Q(enabled=True, archived_at__isnull=True),
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.name}"


class RuleEvent(AuditEvent):
    """Append-only history of a rule: every version as a snapshot, enabling, errors."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        CHANGED = "changed", "Changed"
        ENABLED = "enabled", "Enabled"
        DISABLED = "disabled", "Disabled"
        ERRORED = "errored", "Disabled after an error"
        MOVED = "moved", "Moved"
        ARCHIVED = "archived", "Archived"

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="history")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    version = models.PositiveIntegerField()

    class Meta(AuditEvent.Meta):
        indexes = [models.Index(fields=["rule", "created_at"], name="support_ruleevent_rule")]


class RuleFiring(models.Model):
    """One rule acting on one ticket: what it did. `key` makes each firing happen once.

    Triggers: `t:<rule>:<run key>`; automations: `a:<rule>:<ticket>:<anchor time>`, so an
    automation fires once per ticket and condition (a ticket resolved again may fire again).
    """

    key = models.CharField(max_length=200)
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="firings")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    fired_at = models.DateTimeField(default=timezone.now)
    effects = models.JSONField(default=list, blank=True)
    anchor_at = models.DateTimeField(
        null=True, blank=True, help_text="Automations: the anchor time this firing was for."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key"], name="support_rulefiring_key")]
        indexes = [
            models.Index(fields=["ticket", "fired_at"], name="support_firing_ticket"),
            models.Index(fields=["rule", "ticket", "anchor_at"], name="support_firing_anchor"),
        ]

    def __str__(self):
        return self.key


class TriggerRun(ScheduledWork):
    """A ticket event whose triggers run after the commit (through core's scheduled work).

    `plan` is set for creation: the triggers matched in the creating transaction and the
    actions of theirs still to do. Otherwise the triggers of `event` are evaluated when it runs.
    `source_rules` are the rules whose own change caused the event (they do not fire again).
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=16, choices=TriggerEvent.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_kind = models.CharField(max_length=10, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    source_rules = models.JSONField(default=list, blank=True)
    plan = models.JSONField(null=True, blank=True)

    class Meta(ScheduledWork.Meta):
        indexes = [due_index("support_triggerrun_due")]
