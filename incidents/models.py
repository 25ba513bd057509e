"""Incidents (DESIGN §6): the incident, its timeline, the components it touches, linked tickets.

The status page (`incidents.status`) reads these models; only services write them.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.crypto import EncryptedCharField, keyed_hash
from core.models.audit import AuditEvent


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


# DESIGN §6: (response, resolution) targets by severity.
TARGETS = {
    Severity.CRITICAL: (timedelta(minutes=15), timedelta(hours=4)),
    Severity.HIGH: (timedelta(hours=1), timedelta(hours=8)),
    Severity.MEDIUM: (timedelta(hours=4), timedelta(hours=24)),
    Severity.LOW: (timedelta(hours=24), timedelta(hours=72)),
}
POSTMORTEM_SEVERITIES = frozenset({Severity.CRITICAL, Severity.HIGH})


class Status(models.TextChoices):
    DETECTED = "detected", "Detected"
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


ACTIVE_STATUSES = frozenset(
    {Status.DETECTED, Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING}
)


class Impact(models.TextChoices):
    WIDESPREAD = "widespread", "Widespread"
    MAJOR = "major", "Major"
    MINOR = "minor", "Minor"
    MINIMAL = "minimal", "Minimal"


class Category(models.TextChoices):
    OUTAGE = "outage", "Outage"
    DEGRADATION = "degradation", "Degradation"
    SECURITY_BREACH = "security_breach", "Security breach"
    DATA_LOSS = "data_loss", "Data loss"
    DATA_CORRUPTION = "data_corruption", "Data corruption"
    INFRASTRUCTURE = "infrastructure", "Infrastructure"
    APPLICATION = "application", "Application"
    NETWORK = "network", "Network"
    DATABASE = "database", "Database"
    THIRD_PARTY = "third_party", "Third party"


class ComponentState(models.TextChoices):
    OPERATIONAL = "operational", "Operational"
    DEGRADED_PERFORMANCE = "degraded_performance", "Degraded performance"
    PARTIAL_OUTAGE = "partial_outage", "Partial outage"
    MAJOR_OUTAGE = "major_outage", "Major outage"
    UNDER_MAINTENANCE = "under_maintenance", "Under maintenance"


# Worse first: a component two incidents touch shows the worse of their states, and the page's
# overall state is its worst component's.
STATE_RANK = {
    ComponentState.MAJOR_OUTAGE: 4,
    ComponentState.PARTIAL_OUTAGE: 3,
    ComponentState.DEGRADED_PERFORMANCE: 2,
    ComponentState.UNDER_MAINTENANCE: 1,
    ComponentState.OPERATIONAL: 0,
}
# The states an incident may put a component in (maintenance comes from maintenance windows).
INCIDENT_STATES = (
    ComponentState.DEGRADED_PERFORMANCE,
    ComponentState.PARTIAL_OUTAGE,
    ComponentState.MAJOR_OUTAGE,
)
INCIDENT_STATE_CHOICES = [(state.value, state.label) for state in INCIDENT_STATES]


class Component(models.Model):
    """A part of the service customers can see the state of (the API, the help center, ...)."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    group = models.CharField(max_length=100, blank=True, help_text="Shown under this heading.")
    order = models.PositiveIntegerField(default=0)
    # Kept by the services: the worst state its active incidents and maintenance put it in.
    state = models.CharField(
        max_length=30, choices=ComponentState.choices, default=ComponentState.OPERATIONAL
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["group", "order", "name", "pk"]

    def __str__(self):
        return self.name


class Incident(models.Model):
    number = models.CharField(max_length=30, unique=True, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=20000)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DETECTED)
    category = models.CharField(max_length=30, choices=Category.choices)
    impact = models.CharField(max_length=20, choices=Impact.choices)
    affected_systems = models.JSONField(default=list, blank=True)
    affected_services = models.JSONField(default=list, blank=True)
    affected_customers = models.PositiveIntegerField(
        default=0, help_text="How many customers are affected (an estimate)."
    )
    is_public = models.BooleanField(default=True, help_text="Shown on the public status page.")
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="commanded_incidents",
    )
    team = models.ForeignKey(
        "support.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    reported_by = models.CharField(max_length=200, blank=True, help_text="Who or what saw it.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    detected_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Targets of DESIGN §6 from the detection time; a change of severity moves them.
    response_due_at = models.DateTimeField()
    resolution_due_at = models.DateTimeField()
    # Set once by the target watch (`incidents.monitor`), the first time each target passes.
    response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)

    components = models.ManyToManyField(
        Component, through="IncidentComponent", related_name="incidents", blank=True
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-detected_at", "-pk"]
        indexes = [
            models.Index(
                fields=["response_due_at"],
                name="incidents_unacknowledged_due",
                condition=Q(acknowledged_at__isnull=True, response_breached_at__isnull=True),
            ),
            models.Index(
                fields=["resolution_due_at"],
                name="incidents_unresolved_due",
                condition=Q(resolved_at__isnull=True, resolution_breached_at__isnull=True),
            ),
            models.Index(fields=["-resolved_at"], name="incidents_history"),
            # The help center's banner and the status page: the active public incidents.
            models.Index(
                fields=["-detected_at"],
                name="incidents_active_public",
                condition=Q(is_public=True, status__in=sorted(ACTIVE_STATUSES)),
            ),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def breached(self) -> bool:
        return self.response_breached_at is not None or self.resolution_breached_at is not None

    @property
    def postmortem_required(self) -> bool:
        return self.severity in POSTMORTEM_SEVERITIES


class IncidentComponent(models.Model):
    """A component an incident affects, and the state it put the component in."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="affected")
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="affected_by")
    state = models.CharField(
        max_length=30,
        choices=INCIDENT_STATE_CHOICES,
        default=ComponentState.MAJOR_OUTAGE,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "component"], name="incidents_component_once"
            )
        ]

    def __str__(self):
        return f"{self.component} {self.state}"


class UpdateKind(models.TextChoices):
    MESSAGE = "message", "Message"
    STATUS_CHANGE = "status_change", "Status change"


class IncidentUpdate(models.Model):
    """One entry of the timeline: a message, a status change, or both; public or internal."""

    Kind = UpdateKind

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.MESSAGE)
    status = models.CharField(
        max_length=20, choices=Status.choices, help_text="The incident's status at this entry."
    )
    body = models.TextField(blank=True, max_length=10000, help_text="Plain text.")
    is_public = models.BooleanField(default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["incident", "-created_at"],
                name="incidents_public_updates",
                condition=Q(is_public=True),
            )
        ]

    def __str__(self):
        return f"{self.incident_id} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"


class IncidentTicket(models.Model):
    """A support ticket the incident caused; it hears about the resolution once."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="ticket_links")
    ticket = models.ForeignKey(
        "support.Ticket", on_delete=models.CASCADE, related_name="incident_links"
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    linked_at = models.DateTimeField(default=timezone.now)
    # When the resolution reply went to this ticket: once per link, whatever is retried.
    answered_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "ticket"], name="incidents_ticket_link")
        ]

    def __str__(self):
        return f"{self.incident_id} ↔ ticket {self.ticket_id}"


class IncidentArticle(models.Model):
    """A knowledge-base article about the incident (DESIGN §5: an article's links). The status
    page shows only the published, non-internal ones."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="article_links")
    article = models.ForeignKey(
        "knowledge.Article", on_delete=models.CASCADE, related_name="incident_links"
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["linked_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "article"], name="incidents_article_link")
        ]

    def __str__(self):
        return f"{self.incident_id} ↔ article {self.article_id}"


class Maintenance(models.Model):
    """A planned window: its components show under maintenance while it runs."""

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=10000, help_text="Plain text, public.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    components = models.ManyToManyField(Component, related_name="maintenance", blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-starts_at", "-pk"]
        verbose_name_plural = "maintenance"
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="incidents_maintenance_window"
            )
        ]

    def __str__(self):
        return self.title


class MaintenanceUpdate(models.Model):
    """A public note on a maintenance window ("started", "taking longer", "done"): shown under
    the window on the status page and e-mailed to the subscribers of its components."""

    maintenance = models.ForeignKey(Maintenance, on_delete=models.CASCADE, related_name="updates")
    body = models.TextField(max_length=10000, help_text="Plain text, public.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["maintenance", "-created_at"], name="incidents_maint_update")
        ]

    def __str__(self):
        return f"{self.maintenance} update {self.created_at:%Y-%m-%d %H:%M}"


class BannerImpression(models.Model):
    """A person was shown the banner naming this incident on the contact form
    (`incidents.deflection`): a deflection unless they filed a request within the window."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    viewer = models.CharField(max_length=64, help_text="A hashed user id or session key.")
    shown_at = models.DateTimeField(default=timezone.now)
    ticket_followed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "viewer"], name="incidents_banner_once_per_viewer"
            )
        ]
        indexes = [models.Index(fields=["viewer", "-shown_at"], name="incidents_banner_viewer")]

    def __str__(self):
        return f"incident {self.incident_id} banner shown {self.shown_at:%Y-%m-%d %H:%M}"


class IncidentEvent(AuditEvent):
    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        STATUS_CHANGED = "status_changed", "Status changed"
        UPDATE_POSTED = "update_posted", "Update posted"
        COMPONENTS_CHANGED = "components_changed", "Components changed"
        TICKETS_LINKED = "tickets_linked", "Tickets linked"
        TICKETS_UNLINKED = "tickets_unlinked", "Tickets unlinked"
        TICKETS_NOTIFIED = "tickets_notified", "Linked tickets told of the resolution"
        RESPONSE_BREACHED = "response_breached", "Response target breached"
        RESOLUTION_BREACHED = "resolution_breached", "Resolution target breached"
        POSTMORTEM_SAVED = "postmortem_saved", "Post-mortem saved"
        ARTICLE_DRAFTED = "article_drafted", "Known-issue article drafted"
        ARTICLE_LINKED = "article_linked", "Article linked"
        ARTICLE_UNLINKED = "article_unlinked", "Article unlinked"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)


class ComponentEvent(AuditEvent):
    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        STATE_CHANGED = "state_changed", "State changed"

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)


class PostMortem(models.Model):
    """What happened and what we change; complete when its analysis is written."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="postmortem")
    summary = models.TextField(blank=True, max_length=20000)
    root_cause = models.TextField(blank=True, max_length=20000)
    contributing_factors = models.TextField(blank=True, max_length=20000)
    lessons = models.TextField(blank=True, max_length=20000)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The known-issue article drafted from it (`incidents.articles`): drafted once, whatever
    # is retried; deleting the article lets a new one be drafted.
    article = models.ForeignKey(
        "knowledge.Article",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"post-mortem of {self.incident_id}"

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None


class ActionItem(models.Model):
    postmortem = models.ForeignKey(PostMortem, on_delete=models.CASCADE, related_name="actions")
    description = models.CharField(max_length=500)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_on = models.DateField(null=True, blank=True)
    done = models.BooleanField(default=False)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return self.description


class StatusSubscriberQuerySet(models.QuerySet):
    def with_email(self, address: str):
        """The subscription of this address, through its keyed hash (the address is encrypted)."""
        return self.filter(email_hash=keyed_hash(address))


class StatusSubscriber(models.Model):
    """Someone who gets the status page's public updates by e-mail, once they confirmed."""

    # Encrypted at rest (core.crypto); found and kept unique through its keyed hash.
    email = EncryptedCharField(max_length=254, help_text="Lower-cased.")
    email_hash = models.CharField(max_length=64, unique=True, editable=False)
    components = models.ManyToManyField(
        Component, blank=True, related_name="subscribers", help_text="None: every component."
    )
    # Part of every token of this subscription: a new subscription (after an unsubscribe) has
    # a new one, so the old links are dead.
    nonce = models.CharField(max_length=32, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = StatusSubscriberQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(
                fields=["email_hash"],
                name="incidents_confirmed_subscriber",
                condition=Q(confirmed_at__isnull=False),
            )  # fmt: skip
        ]

    def __str__(self):
        return self.email

    def save(self, *args, **kwargs):
        self.email_hash = keyed_hash(self.email)
        super().save(*args, **kwargs)
