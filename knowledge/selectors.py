"""Reading articles as a given person may see them."""

import re
from datetime import timedelta

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from core.search import search
from core.search.query import STOP_WORDS

from .models import Article, Category, Feedback, Status, SuggestionOpened, UnansweredSearch
from .permissions import can_see_unpublished
from .services import DEFLECTION_WINDOW, visitor_key

LIST_FIELDS = ("author",)
# What no list of results shows (each is ~1-2 kB a row; the snippet is cut from content_text in
# SQL): reading them for a page of 25 cost more than the search itself.
LIST_UNUSED = ("content", "content_html", "content_text", "search_document")


def articles_for(user):
    """Staff see every article; everyone else published, public ones only."""
    queryset = Article.objects.all()
    if not can_see_unpublished(user):
        queryset = queryset.public()
    return queryset


def with_details(queryset):
    return queryset.select_related("author").prefetch_related(
        "tags", Prefetch("related", queryset=Article.objects.only("pk", "number", "slug", "title",
                                                                   "status", "is_internal"))
    )  # fmt: skip


def related_for(article: Article, user) -> list[Article]:
    """The article's related articles the viewer may see."""
    visible = [a for a in article.related.all() if a.is_public or can_see_unpublished(user)]
    return sorted(visible, key=lambda a: a.title)


def find_articles(user, query: str, *, category: str = "", tag: str = "", status: str = "",
                  snippets: bool = True, using: str = "default"):  # fmt: skip
    """Articles matching `query` (web-search syntax) that `user` may see: pinned first, then by
    relevance × (1 + boost). Filters narrow what the user may see."""
    queryset = articles_for(user).using(using)
    if category:
        queryset = queryset.filter(category=category)
    if tag:
        queryset = queryset.filter(tags__name=tag)
    if status:  # within what the user may see: a customer asking for drafts gets none
        queryset = queryset.filter(status=status)
    found = search(queryset, query, ordered=True, snippets=snippets)
    return found.defer(*LIST_UNUSED).order_by("-is_pinned", "-search_rank", "-pk")


def popular(user, *, limit: int = 6):
    return articles_for(user).filter(status=Status.PUBLISHED).order_by("-view_count", "pk")[:limit]


def pinned(user, *, limit: int = 6):
    return articles_for(user).filter(status=Status.PUBLISHED, is_pinned=True)[:limit]


# --- pages (help center and desk) ----------------------------------------------------------

# Words of a ticket subject or a half-typed question that say nothing about the topic.
_FILLER_WORDS = frozenset({"or", "and", "not", "cannot", "cant", "help", "please", "issue"})
_WORDS = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
ANY_WORD_MAX = 8


def any_word_query(text: str) -> str:
    """`text`'s meaningful words joined with `or` (any may match), at most ANY_WORD_MAX."""
    words = [
        word
        for word in _WORDS.findall(text.lower())
        if len(word) > 1 and word not in STOP_WORDS and word not in _FILLER_WORDS
    ]
    return " or ".join(list(dict.fromkeys(words))[:ANY_WORD_MAX])


def suggested_for(user, text: str, *, limit: int = 5, public_only: bool = False) -> list:
    """Up to `limit` published articles on the topic of `text` (a subject, any word matching),
    best first: those `user` may see, or only public ones (`public_only`). One query."""
    query = any_word_query(text)
    if not query:
        return []
    queryset = Article.objects.public() if public_only else articles_for(user)
    found = search(queryset.filter(status=Status.PUBLISHED), query, ordered=True, snippets=False)
    return list(found.order_by("-is_pinned", "-search_rank", "-pk")[:limit])


_ARTICLE_NUMBER = re.compile(r"^(?:kb-?)?(\d{1,12})$", re.IGNORECASE)


def related_candidates(user, query: str, *, article_number: str = "", exclude_numbers=(),
                       limit: int = 8) -> list[Article]:  # fmt: skip
    """Articles `user` may see that could be related to the article `article_number` (blank
    for a new one): matching `query`, typed as words or as a number ("kb-42", "42"), best
    first; never the article itself, its current related ones nor `exclude_numbers`."""
    query = query.strip()
    if not query:
        return []
    queryset = articles_for(user).exclude(number__in=[article_number, *exclude_numbers])
    if article_number:
        current = Article.related.through.objects.filter(from_article__number=article_number)
        queryset = queryset.exclude(pk__in=current.values("to_article"))
    number = _ARTICLE_NUMBER.match(query)
    if number:
        wanted = f"KB-{int(number.group(1)):05d}"
        return list(queryset.filter(number=wanted)[:1])
    found = search(queryset, query, ordered=True, snippets=False)
    return list(found.order_by("-is_pinned", "-search_rank", "-pk")[:limit])


def category_counts(user) -> list[tuple[str, str, int]]:
    """(value, label, published articles `user` may see) for every category, in one query."""
    counts = dict(
        articles_for(user)
        .filter(status=Status.PUBLISHED)
        .order_by()
        .values_list("category")
        .annotate(n=Count("pk"))
    )
    return [(value, label, counts.get(value, 0)) for value, label in Category.choices]


def help_articles(user):
    """The help center's lists: published articles `user` may see (public ones for customers)."""
    return articles_for(user).filter(status=Status.PUBLISHED)


def feedback_of(article: Article, *, user=None, session_key: str = "") -> Feedback | None:
    """The viewer's own answer on `article` (signed in: theirs; a visitor: their session's)."""
    if user is not None and user.is_authenticated:
        return Feedback.objects.filter(article=article, user=user).first()
    if not session_key:
        return None
    return Feedback.objects.filter(
        article=article, user__isnull=True, visitor=visitor_key(session_key)
    ).first()


def desk_articles(user, *, query: str = "", status: str = "", category: str = ""):
    """The desk's article list: every status for staff, filtered, searched (best first) or
    most recently updated first; eager-loaded for the list (author, tags)."""
    if query:
        queryset = find_articles(user, query, category=category, status=status, snippets=True)
    else:
        queryset = articles_for(user)
        if category:
            queryset = queryset.filter(category=category)
        if status:
            queryset = queryset.filter(status=status)
        queryset = queryset.order_by("-updated_at", "-pk")
    return queryset.select_related("author").prefetch_related("tags")


def revisions_of(article: Article):
    return article.revisions.select_related("editor")


def unanswered_searches():
    """What people searched for and found nothing, most frequent first."""
    return UnansweredSearch.objects.order_by("-count", "-last_searched_at", "pk")


def deflection(*, since, until):
    """Suggested articles opened in [since, until) whose window has passed: how many were
    opened, and how many of those were followed by no request (deflected)."""
    settled = SuggestionOpened.objects.filter(
        opened_at__gte=since, opened_at__lt=min(until, timezone.now() - DEFLECTION_WINDOW)
    )
    return settled.aggregate(
        opened=Count("pk"), deflected=Count("pk", filter=Q(ticket_followed_at__isnull=True))
    )


# --- the desk's insights page ----------------------------------------------------------------

INSIGHT_PERIODS = (7, 30, 90)  # days
INSIGHT_ROWS = 10
_INSIGHT_FIELDS = ("pk", "number", "title", "status", "is_internal", "view_count", "rating_count",
                   "rating_average", "helpful_count", "not_helpful_count")  # fmt: skip


def insights(*, days: int, now=None) -> dict:
    """The knowledge base's health for the last `days` days, in five queries whatever the data:
    suggestions opened and deflected (settled ones, `deflection`), the most frequent searches
    that found nothing among those searched in the period, and, over all time, the articles
    most often found not helpful, the lowest rated and the most viewed."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    figures = deflection(since=since, until=now)
    opened, deflected = figures["opened"], figures["deflected"]
    articles = Article.objects.only(*_INSIGHT_FIELDS).order_by()
    return {
        "days": days,
        "since": since,
        "opened": opened,
        "deflected": deflected,
        "followed": opened - deflected,
        "deflection_rate": deflected / opened if opened else None,
        "unanswered": list(
            unanswered_searches().filter(last_searched_at__gte=since)[:INSIGHT_ROWS]
        ),
        "not_helpful": list(
            articles.filter(not_helpful_count__gt=0).order_by(
                "-not_helpful_count", "helpful_count", "pk"
            )[:INSIGHT_ROWS]
        ),
        "lowest_rated": list(
            articles.filter(rating_count__gt=0).order_by("rating_average", "-rating_count", "pk")[
                :INSIGHT_ROWS
            ]
        ),
        "most_viewed": list(
            articles.filter(view_count__gt=0).order_by("-view_count", "pk")[:INSIGHT_ROWS]
        ),
    }
