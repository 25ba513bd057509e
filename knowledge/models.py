"""Knowledge base articles (DESIGN §5): content, revisions, audit, feedback, searches."""

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.models.audit import AuditEvent


class Category(models.TextChoices):
    TROUBLESHOOTING = "troubleshooting", "Troubleshooting"
    HOW_TO = "how_to", "How-to"
    FAQ = "faq", "FAQ"
    KNOWN_ISSUE = "known_issue", "Known issue"
    PRODUCT_GUIDE = "product_guide", "Product guide"
    API_DOCUMENTATION = "api_documentation", "API documentation"
    BEST_PRACTICES = "best_practices", "Best practices"


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class Tag(models.Model):
    name = models.SlugField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ArticleQuerySet(models.QuerySet):
    def public(self):
        """What anyone may read: published and not internal."""
        return self.filter(status=Status.PUBLISHED, is_internal=False)


class Article(models.Model):
    number = models.CharField(max_length=20, unique=True, editable=False)
    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=500, blank=True)
    content = models.TextField(blank=True, help_text="Markdown.")
    # The rendered, sanitised content (knowledge.markdown), written with the content: the
    # cache every page and answer reads, so Markdown is rendered once per change.
    content_html = models.TextField(blank=True, editable=False)
    content_text = models.TextField(blank=True, editable=False)
    category = models.CharField(max_length=30, choices=Category.choices)
    tags = models.ManyToManyField(Tag, blank=True, related_name="articles")
    keywords = models.CharField(
        max_length=500, blank=True, help_text="Words people search with that the text lacks."
    )
    # The tags' names, written by the services with the tags: the search document reads
    # columns of the row (a trigger cannot see a many-to-many change).
    tag_names = models.CharField(max_length=1000, blank=True, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_internal = models.BooleanField(default=False, help_text="Staff only.")
    is_pinned = models.BooleanField(default=False, help_text="First among its matches.")
    search_boost = models.FloatField(
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(5)],
        help_text="Relevance × (1 + boost).",
    )
    related = models.ManyToManyField("self", blank=True, symmetrical=True)

    # Counters kept by services and the view-count flush, never on every page view.
    view_count = models.PositiveIntegerField(default=0, editable=False)
    rating_count = models.PositiveIntegerField(default=0, editable=False)
    rating_average = models.FloatField(null=True, editable=False)
    helpful_count = models.PositiveIntegerField(default=0, editable=False)
    not_helpful_count = models.PositiveIntegerField(default=0, editable=False)

    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    search_document = SearchVectorField(null=True, editable=False)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-is_pinned", "title", "pk"]
        indexes = [
            models.Index(
                fields=["category", "-view_count"],
                name="knowledge_public_popular",
                condition=Q(status="published", is_internal=False),
            ),
            # The order a bounded search takes its candidates in (knowledge.search).
            models.Index(
                fields=["-is_pinned", "-search_boost", "-view_count", "-id"],
                name="knowledge_search_prior",
            ),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    @property
    def is_public(self) -> bool:
        return self.status == Status.PUBLISHED and not self.is_internal

    @property
    def helpful_share(self) -> float | None:
        votes = self.helpful_count + self.not_helpful_count
        return self.helpful_count / votes if votes else None


class ArticleRevision(models.Model):
    """The article's text as it was saved; restoring one makes a new revision."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=500, blank=True)
    content = models.TextField(blank=True)
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="knowledge_revision_number")
        ]

    def __str__(self):
        return f"{self.article.number} r{self.number}"


class ArticleEvent(AuditEvent):
    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        STATUS_CHANGED = "status_changed", "Status changed"
        RESTORED = "restored", "Revision restored"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)


class Feedback(models.Model):
    """One per signed-in user, or per visitor session, per article; changed, never doubled."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    visitor = models.CharField(max_length=64, blank=True, help_text="A hashed session key.")
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    helpful = models.BooleanField(null=True, blank=True)
    comment = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["article", "user"],
                condition=Q(user__isnull=False),
                name="knowledge_feedback_per_user",
            ),
            models.UniqueConstraint(
                fields=["article", "visitor"],
                condition=Q(user__isnull=True),
                name="knowledge_feedback_per_visitor",
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(visitor=""), name="knowledge_feedback_author"
            ),
        ]

    def __str__(self):
        return f"feedback on article {self.article_id}"


class UnansweredSearch(models.Model):
    """A search that found nothing, for authors: what people look for that we lack."""

    query = models.CharField(max_length=200, unique=True, help_text="Lower-cased, spaces folded.")
    count = models.PositiveIntegerField(default=1)
    first_searched_at = models.DateTimeField(default=timezone.now)
    last_searched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-count", "-last_searched_at"]
        verbose_name_plural = "unanswered searches"

    def __str__(self):
        return self.query


class SuggestionOpened(models.Model):
    """A suggested article (on the new-request form) was opened: deflection, if no request
    followed within `DEFLECTION_WINDOW` (the support app notes a request that did)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    viewer = models.CharField(max_length=64, help_text="A hashed user id or session key.")
    opened_at = models.DateTimeField(default=timezone.now)
    ticket_followed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["viewer", "-opened_at"], name="knowledge_suggestion_viewer")
        ]

    def __str__(self):
        return f"article {self.article_id} opened {self.opened_at:%Y-%m-%d %H:%M}"
