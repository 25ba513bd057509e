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


class DraftOutcome(models.TextChoices):
    OFFERED = "offered", "shown, not yet decided"
    IN_COMPOSER = "in_composer", "accepted into the composer, not yet sent"
    ACCEPTED = "accepted", "sent as drafted"
    EDITED = "edited", "edited, then sent"
    REJECTED = "rejected"


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
    chat_session = models.ForeignKey(
        "support.ChatSession", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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
    # Reply drafts and summaries: what the agent made of the draft (blank for other features).
    draft_outcome = models.CharField(max_length=12, choices=DraftOutcome.choices, blank=True)
    draft_digest = models.CharField(
        max_length=64, blank=True, help_text="sha256 of the draft's words: sent unchanged or not."
    )
    draft_decided_at = models.DateTimeField(null=True, blank=True)

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
        EMBEDDER = "embedder", "article embedder (LSA)"
        BREACH = "breach", "SLA breach predictor"

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


FIELD_CHOICES = [
    (t.value, t.label) for t in ModelArtifact.Target if t in ("category", "team", "priority")
]


class Suggestion(models.Model):
    """A model's proposal for one field of a ticket, and what a person made of it."""

    class State(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted", "accepted by a person"
        REJECTED = "rejected"
        APPLIED = "applied", "applied by the model, not yet confirmed"
        CONFIRMED = "confirmed", "applied by the model, confirmed by a person"

    ticket = models.ForeignKey("support.Ticket", on_delete=models.CASCADE, related_name="+")
    field = models.CharField(max_length=20, choices=FIELD_CHOICES)
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


class ArticleChunk(models.Model):
    """A passage of a published article with its latent semantic vector (float32 bytes)."""

    article = models.ForeignKey("knowledge.Article", on_delete=models.CASCADE, related_name="+")
    ordinal = models.PositiveSmallIntegerField()
    text = models.TextField()
    content_sha256 = models.CharField(max_length=64, help_text="Of the article as chunked.")
    embedder_sha256 = models.CharField(max_length=64)
    vector = models.BinaryField()
    # Copied from the article so a customer's search filters before scoring: published and not
    # internal. Internal articles' chunks exist for staff only.
    is_public = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["article", "ordinal"], name="assist_chunk_unique")
        ]

    def __str__(self):
        return f"chunk {self.ordinal} of article {self.article_id}"


class SyncState(models.Model):
    """Where the article sync stands: articles changed since `articles_until` are due."""

    name = models.CharField(max_length=40, unique=True)
    articles_until = models.DateTimeField(null=True, blank=True)
    # Moved on by every run that changed a passage: what each process's index compares to
    # know its matrix is current (one row by its key, where counting 100,000 passages was not).
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.name}: {self.articles_until}"


class UsageHour(models.Model):
    """Interactions rolled up by UTC hour, feature, provider and model (the usage monitor)."""

    hour = models.DateTimeField()
    feature = models.CharField(max_length=40)
    provider = models.CharField(max_length=40)
    model = models.CharField(max_length=120)
    calls = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    latency_ms_total = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "feature", "provider", "model"], name="assist_usage_hour_unique"
            )
        ]

    def __str__(self):
        return f"{self.hour:%Y-%m-%d %H}h {self.feature}/{self.provider}: {self.calls}"


class UsageAlert(models.Model):
    """An alert sent once: its key (kind and hour or day) is unique."""

    key = models.CharField(max_length=120, unique=True)
    detail = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.key


class BreachRisk(models.Model):
    """An open ticket's predicted breach risk by one breach model, kept current by the
    `assist-score-breach-risks` job, so the queue reads it in one query a page."""

    ticket = models.OneToOneField(
        "support.Ticket", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    artifact = models.ForeignKey(ModelArtifact, on_delete=models.CASCADE, related_name="+")
    risk = models.FloatField()
    at_risk = models.BooleanField(help_text="Risk at or above the model's threshold.")
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["artifact", "at_risk"], name="assist_breach_risk_flag")]

    def __str__(self):
        return f"{self.ticket_id}: {self.risk:.2f}"
