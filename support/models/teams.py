from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone

from core.models.audit import AuditEvent

from .catalog import Category
from .choices import AgentStatus, AssignmentStrategy


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    strategy = models.CharField(
        max_length=20, choices=AssignmentStrategy.choices, default=AssignmentStrategy.MANUAL
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="support_teams", blank=True
    )
    categories = models.ManyToManyField(
        Category, related_name="teams", blank=True, help_text="Categories this team handles."
    )
    # The round-robin pointer: the member who received the team's last automatic assignment.
    last_assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


# The most chats an agent may be given at once (a lead sets each agent's own maximum up to it).
MAX_CONCURRENT_CHATS = 50


class AgentProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    status = models.CharField(
        max_length=10, choices=AgentStatus.choices, default=AgentStatus.AVAILABLE
    )
    capacity = models.PositiveSmallIntegerField(
        default=20, help_text="Most active tickets the agent is given automatically."
    )
    skills = models.ManyToManyField(Category, related_name="skilled_agents", blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    # Live chat (support.chat): routing gives an agent a chat only while chat is enabled, the
    # status is available, the desk was seen in the last 90 seconds and fewer than the maximum
    # are active; the longest since their last chat goes first among equals.
    chat_enabled = models.BooleanField(default=True)
    max_concurrent_chats = models.PositiveSmallIntegerField(
        default=3,
        validators=[MaxValueValidator(MAX_CONCURRENT_CHATS)],
        help_text=f"Most chats the agent holds at once (0 to {MAX_CONCURRENT_CHATS}; 0: none).",
    )
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_chat_assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_concurrent_chats__lte=MAX_CONCURRENT_CHATS),
                name="support_agentprofile_max_chats",
            )
        ]

    def __str__(self):
        return f"{self.user} ({self.status})"


class AgentProfileEvent(AuditEvent):
    """Append-only history of an agent's profile: who changed their availability, capacity,
    skills or chat settings, with the fields before and after (`services.update_agent_profile`)."""

    class Kind(models.TextChoices):
        CHANGED = "changed", "Changed"

    profile = models.ForeignKey(AgentProfile, on_delete=models.CASCADE, related_name="history")
    kind = models.CharField(max_length=12, choices=Kind.choices)

    class Meta(AuditEvent.Meta):
        indexes = [
            models.Index(fields=["profile", "created_at"], name="support_agentevent_profile")
        ]


class SavedQueueView(models.Model):
    """An agent's own named queue view: a view, filters, search and sort, kept as the query
    string of the queue page (only the queue's own parameters)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_queue_views"
    )
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=1000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="support_saved_view_name")
        ]

    def __str__(self):
        return self.name
