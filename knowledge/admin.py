"""Django admin for the knowledge base: every write goes through the services.

Creating and editing an article renders its Markdown, keeps a revision and records an audit
event exactly as the desk and the API do; status moves are actions checked by the article's
state machine. Revisions, events and feedback are read-only here.
"""

from django.contrib import admin, messages

from core.admin import AuditTrailInline, ReadOnlyInline
from core.errors import DomainError

from . import services
from .models import Article, ArticleEvent, ArticleRevision, Feedback, Status, UnansweredSearch

FORM_FIELDS = [
    "title",
    "slug",
    "summary",
    "category",
    "content",
    "keywords",
    "is_internal",
    "is_pinned",
    "search_boost",
]


class RevisionInline(ReadOnlyInline):
    model = ArticleRevision
    fields = ["number", "created_at", "editor", "title", "note"]
    readonly_fields = fields


class ArticleEventInline(AuditTrailInline):
    model = ArticleEvent


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "category", "status", "is_internal", "is_pinned",
                    "view_count", "rating_average", "updated_at"]  # fmt: skip
    list_filter = ["status", "category", "is_internal", "is_pinned"]
    search_fields = ["number", "title", "slug"]
    fields = [*FORM_FIELDS, "tag_list"]
    readonly_fields = ["tag_list"]
    inlines = [RevisionInline, ArticleEventInline]
    actions = ["publish", "archive", "back_to_draft"]
    list_select_related = ["author"]

    @admin.display(description="Tags")
    def tag_list(self, article):
        return article.tag_names or "-"

    def has_delete_permission(self, request, obj=None):
        return False  # archive instead: links and history stay

    def save_model(self, request, obj, form, change):
        values = {
            name: form.cleaned_data[name] for name in FORM_FIELDS if name in form.cleaned_data
        }
        if change:
            changed = {name: values[name] for name in form.changed_data if name in values}
            if changed:
                services.update_article(article=obj, by=request.user, note="Admin", **changed)
        else:
            title, category = values.pop("title"), values.pop("category")
            created = services.create_article(by=request.user, title=title, category=category,
                                              **values)  # fmt: skip
            obj.pk = created.pk

    def save_related(self, request, form, formsets, change):
        pass  # nothing related is edited here: tags and related articles go through the desk

    def _move(self, request, queryset, to: str, verb: str) -> None:
        done, refused = 0, []
        for article in queryset.order_by("pk"):
            try:
                services.change_status(article=article, by=request.user, to=to)
            except DomainError as exc:
                refused.append(f"{article.number}: {exc.message}")
            else:
                done += 1
        if done:
            self.message_user(request, f"{verb}: {done} article(s).", level=messages.SUCCESS)
        if refused:
            self.message_user(request, f"Not {verb.lower()}: " + " ".join(refused),
                              level=messages.WARNING)  # fmt: skip

    @admin.action(description="Publish")
    def publish(self, request, queryset):
        self._move(request, queryset, Status.PUBLISHED, "Published")

    @admin.action(description="Archive")
    def archive(self, request, queryset):
        self._move(request, queryset, Status.ARCHIVED, "Archived")

    @admin.action(description="Back to draft")
    def back_to_draft(self, request, queryset):
        self._move(request, queryset, Status.DRAFT, "Back to draft")


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["article", "rating", "helpful", "user", "created_at"]
    list_filter = ["helpful", "rating"]
    list_select_related = ["article", "user"]
    readonly_fields = ["article", "user", "visitor", "rating", "helpful", "comment", "created_at"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(UnansweredSearch)
class UnansweredSearchAdmin(admin.ModelAdmin):
    list_display = ["query", "count", "last_searched_at"]
    search_fields = ["query"]
    readonly_fields = ["query", "count", "first_searched_at", "last_searched_at"]

    def has_add_permission(self, request):
        return False
