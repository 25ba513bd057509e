"""The records of AI assist: every call, every tool call, the model artifacts and suggestions."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Outcome(models.TextChoices):
    SUCCESS = "success"
    ERROR = "error"
    TIMEOUT = "timeout"
    REFUSED_BUDGET = "refused_budget"
    REFUSED_PERMISSION = "refused_permission"
    FALLBACK = "fallback", "fell back to local"
    HANDOFF = "handoff", "handed off to an agent"


class AIInteraction(models.Model):
    """One call of an AI feature, whatever came of it (names follow OpenTelemetry's gen_ai.*)."""

    created_at = models.DateTimeField(default=timezone.now)
    feature = models.CharField(max_length=40)
    provider = models.CharField(max_length=40)
    model_requested = models.CharField(max_length=120, blank=True)
    model_returned = models.CharField(max_length=120, blank=True)
    model_version = models.CharField(max_length=80, blank=True, help_text="Artifact sha256.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticket = models.ForeignKey(
        "support.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Content, as AI_LOG_CONTENT allows (full, redacted or none); cleared after AI_RETENTION_DAYS.
    prompt = models.TextField(blank=True)
    prompt_sha256 = models.CharField(max_length=64, blank=True)
    response = models.TextField(blank=True)
    content_cleared = models.BooleanField(default=False)
    retrieved_ids = models.JSONField(default=list, blank=True)
    tool_calls = models.JSONField(default=list, blank=True)
    finish_reason = models.CharField(max_length=40, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.FloatField(default=0)
    confidence = models.FloatField(null=True, blank=True)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    outcome = models.CharField(max_length=24, choices=Outcome.choices)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)

    class Meta:
        indexes = [
            models.Index(fields=["created_at"], name="assist_interaction_created"),
            models.Index(fields=["feature", "created_at"], name="assist_interaction_feature"),
        ]

    def __str__(self):
        return f"{self.feature} via {self.provider}: {self.outcome}"


class AIToolCall(models.Model):
    interaction = models.ForeignKey(
        AIInteraction, on_delete=models.CASCADE, related_name="tool_call_rows"
    )
    tool = models.CharField(max_length=60)
    arguments = models.JSONField(default=dict, blank=True)
    caller = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_model = models.BooleanField(default=False)
    decision = models.CharField(max_length=30, help_text="allowed, denied, invalid, rate_limited…")
    result_summary = models.TextField(blank=True)
    latency_ms = models.FloatField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.tool}: {self.decision}"


class DailyTokenUsage(models.Model):
    """Tokens spent per day (UTC), counted atomically: the daily budget reads one row."""

    day = models.DateField(unique=True)
    tokens = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.day}: {self.tokens} tokens"


class ModelArtifact(models.Model):
    """A trained model, stored with skops (never pickle), with what it was trained on and how
    well it did on the newest 20 % of tickets held out by time."""

    class Target(models.TextChoices):
        CATEGORY = "category"
        TEAM = "team"
        PRIORITY = "priority"

    target = models.CharField(max_length=20, choices=Target.choices)
    created_at = models.DateTimeField(default=timezone.now)
    trained_from = models.DateTimeField(help_text="Oldest training ticket's creation.")
    trained_until = models.DateTimeField(help_text="Newest training ticket's creation.")
    held_out_from = models.DateTimeField(null=True, blank=True)
    n_train = models.PositiveIntegerField()
    n_test = models.PositiveIntegerField()
    label_source = models.CharField(max_length=200)
    library_version = models.CharField(max_length=80)
    metrics = models.JSONField(default=dict)
    sha256 = models.CharField(max_length=64)
    blob = models.BinaryField()
    is_active = models.BooleanField(default=False)
    activation_note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["target"],
                condition=models.Q(is_active=True),
                name="assist_one_active_model_per_target",
            )
        ]

    def __str__(self):
        return f"{self.target} model {self.sha256[:12]}"


class Suggestion(models.Model):
    """A model's proposal for one field of a ticket, and what a person made of it."""

    class State(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted", "accepted by a person"
        REJECTED = "rejected"
        APPLIED = "applied", "applied by the model, not yet confirmed"
        CONFIRMED = "confirmed", "applied by the model, confirmed by a person"

    ticket = models.ForeignKey("support.Ticket", on_delete=models.CASCADE, related_name="+")
    field = models.CharField(max_length=20, choices=ModelArtifact.Target.choices)
    value = models.CharField(max_length=100)
    confidence = models.FloatField()
    artifact = models.ForeignKey(ModelArtifact, null=True, on_delete=models.SET_NULL)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["ticket", "field"], name="assist_suggestion_ticket")]

    def __str__(self):
        return f"{self.field}={self.value} ({self.state})"
