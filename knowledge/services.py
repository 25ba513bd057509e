"""Writing articles: each change is an audit event, each change of text a revision, atomically."""

import hashlib
import re
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, F, Q
from django.utils import timezone
from django.utils.text import slugify

from core import audit
from core.errors import DomainError, NotAllowed, NotFound
from core.numbering import sequential_number

from . import markdown
from .models import (
    Article,
    ArticleEvent,
    ArticleRevision,
    Feedback,
    Status,
    SuggestionOpened,
    Tag,
    UnansweredSearch,
)
from .permissions import can_publish, can_write, party_of
from .workflow import ARTICLE

TEXT_FIELDS = ("title", "summary", "content")
EDITABLE = (
    *TEXT_FIELDS,
    "slug",
    "category",
    "keywords",
    "is_internal",
    "is_pinned",
    "search_boost",
)
# Publishing choices only editors make.
EDITOR_FIELDS = ("is_pinned", "search_boost")


# Paths of the help center beside `/help/kb/<slug>/`: an article there could never be opened.
RESERVED_SLUGS = frozenset({"search", "suggest", "category", "new", "preview", "unanswered"})


def _unique_slug(title: str, *, exclude: int | None = None) -> str:
    base = slugify(title)[:100] or "article"
    slug, n = base, 1
    taken = Article.objects.exclude(pk=exclude) if exclude else Article.objects.all()
    while slug in RESERVED_SLUGS or taken.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _checked_slug(slug: str | None) -> str:
    slug = slugify(slug or "")
    if slug in RESERVED_SLUGS:
        raise DomainError(f"“{slug}” is a page of the help center; choose another slug.",
                          errors={"slug": ["Reserved."]})  # fmt: skip
    return slug


def _set_tags(article: Article, names) -> None:
    names = sorted({slugify(name)[:50] for name in names if slugify(name)})
    tags = [Tag.objects.get_or_create(name=name)[0] for name in names]
    article.tags.set(tags)
    article.tag_names = " ".join(names)


def _snapshot(article: Article) -> dict:
    return {name: getattr(article, name) for name in (*EDITABLE, "status")}


def _changes(before: dict, after: dict) -> tuple[dict, dict]:
    changed = [name for name in after if before.get(name) != after[name]]
    return {n: before.get(n) for n in changed}, {n: after[n] for n in changed}


def _revise(article: Article, *, by, note: str = "") -> ArticleRevision:
    last = article.revisions.order_by("-number").values_list("number", flat=True).first() or 0
    return ArticleRevision.objects.create(
        article=article,
        number=last + 1,
        title=article.title,
        summary=article.summary,
        content=article.content,
        editor=by,
        note=note[:200],
    )


def _render(article: Article) -> None:
    article.content_html, article.content_text = markdown.rendered(article.content)


@transaction.atomic
def create_article(*, by, title: str, category: str, tags=(), **fields) -> Article:
    can_write.require(by)
    if not title or not title.strip():
        raise DomainError("An article needs a title.", errors={"title": ["Required."]})
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if not can_publish(by):
        fields = {k: v for k, v in fields.items() if k not in EDITOR_FIELDS}
    article = Article(
        number=sequential_number("KB"),
        title=title.strip(),
        category=category,
        author=by,
        **fields,
    )
    article.slug = _checked_slug(fields.get("slug")) or _unique_slug(article.title)
    _render(article)
    article.full_clean(exclude=["number", "tags", "related"])
    article.save()
    if tags:
        _set_tags(article, tags)
        article.save(update_fields=["tag_names"])
    _revise(article, by=by, note="Created")
    audit.record(ArticleEvent, article=article, kind=ArticleEvent.Kind.CREATED, actor=by,
                 after=_snapshot(article), immediate=True)  # fmt: skip
    return article


@transaction.atomic
def update_article(*, article: Article, by, tags=None, note: str = "", **fields) -> Article:
    """Change the article's fields; a change of text keeps a revision."""
    can_write.require(by, article)
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if not can_publish(by):
        refused = sorted(set(fields) & set(EDITOR_FIELDS))
        if refused:
            raise NotAllowed(
                "Only support leads may pin or boost articles.",
                errors={name: ["Support leads only."] for name in refused},
            )
    article = Article.objects.select_for_update().get(pk=article.pk)
    before = {**_snapshot(article), "tags": article.tag_names}
    for name, value in fields.items():
        setattr(article, name, value)
    if "slug" in fields:
        article.slug = _checked_slug(article.slug) or _unique_slug(
            article.title, exclude=article.pk
        )
    text_changed = any(before[name] != getattr(article, name) for name in TEXT_FIELDS)
    if text_changed:
        _render(article)
    article.full_clean(exclude=["number", "tags", "related"])
    if tags is not None:
        _set_tags(article, tags)
    article.save()
    old, new = _changes(before, {**_snapshot(article), "tags": article.tag_names})
    if text_changed:
        _revise(article, by=by, note=note)
    if new:
        audit.record(ArticleEvent, article=article, kind=ArticleEvent.Kind.UPDATED, actor=by,
                     before=old, after=new, metadata={"note": note} if note else None,
                     immediate=True)  # fmt: skip
    return article


@transaction.atomic
def change_status(*, article: Article, by, to: str, note: str = "") -> Article:
    can_write.require(by, article)
    article = Article.objects.select_for_update().get(pk=article.pk)
    ARTICLE.check(article.status, to, party=party_of(by))
    before = article.status
    article.status = to
    if to == Status.PUBLISHED and article.published_at is None:
        article.published_at = timezone.now()
    article.save(update_fields=["status", "published_at", "updated_at"])
    audit.record(ArticleEvent, article=article, kind=ArticleEvent.Kind.STATUS_CHANGED, actor=by,
                 before={"status": before}, after={"status": to},
                 metadata={"note": note} if note else None, immediate=True)  # fmt: skip
    return article


@transaction.atomic
def restore_revision(*, article: Article, revision: ArticleRevision, by) -> Article:
    """The article's text becomes the revision's again, as a new revision (history is kept)."""
    if revision.article_id != article.pk:
        raise NotFound("That revision belongs to another article.")
    article = update_article(
        article=article,
        by=by,
        title=revision.title,
        summary=revision.summary,
        content=revision.content,
        note=f"Restored revision {revision.number}",
    )
    audit.record(ArticleEvent, article=article, kind=ArticleEvent.Kind.RESTORED, actor=by,
                 after={"revision": revision.number}, immediate=True)  # fmt: skip
    return article


@transaction.atomic
def set_related(*, article: Article, by, related) -> None:
    """Replace the article's related articles (symmetrical: each lists the other), audited.

    An article is not related to itself. Internal articles and drafts may be related to a
    public one: readers see only those they may (`selectors.related_for`)."""
    can_write.require(by, article)
    related = list({a.pk: a for a in related}.values())
    if any(a.pk == article.pk for a in related):
        message = f"{article.number} cannot be related to itself."
        raise DomainError(message, errors={"related": [message]})
    article = Article.objects.select_for_update().get(pk=article.pk)
    before = sorted(article.related.values_list("number", flat=True))
    after = sorted(a.number for a in related)
    if before == after:
        return
    article.related.set(related)
    audit.record(ArticleEvent, article=article, kind=ArticleEvent.Kind.UPDATED, actor=by,
                 before={"related": before}, after={"related": after},
                 immediate=True)  # fmt: skip


# --- feedback ------------------------------------------------------------------------------


def visitor_key(session_key: str) -> str:
    """What is stored of a visitor's session: a digest, never the key that signs them in."""
    return hashlib.sha256(f"knowledge-feedback:{session_key}".encode()).hexdigest()


@transaction.atomic
def give_feedback(
    *,
    article: Article,
    user=None,
    session_key: str = "",
    rating: int | None = None,
    helpful: bool | None = None,
    comment: str | None = None,
) -> Feedback:
    """Rate and/or vote on an article: one answer per user or visitor, changed on a second go
    (what is not given is kept: a vote alone leaves an earlier rating and comment).

    The article's counts and average are recomputed in the same transaction (feedback is rare;
    views, which are not, are counted elsewhere).
    """
    if rating is None and helpful is None:
        raise DomainError("Give a rating or say whether it helped.",
                          errors={"rating": ["Rate 1 to 5, or vote helpful."]})  # fmt: skip
    if rating is not None and not 1 <= rating <= 5:
        raise DomainError("A rating is 1 to 5.", errors={"rating": ["1 to 5."]})
    signed_in = user is not None and user.is_authenticated
    if not signed_in and not session_key:
        raise DomainError("Feedback needs a session.", code="no_session")
    who = {"user": user} if signed_in else {"user": None, "visitor": visitor_key(session_key)}
    values = {} if comment is None else {"comment": comment[:2000]}
    if rating is not None:
        values["rating"] = rating
    if helpful is not None:
        values["helpful"] = helpful
    Article.objects.select_for_update().filter(pk=article.pk).exists()  # one writer per article
    try:
        with transaction.atomic():
            feedback, _ = Feedback.objects.update_or_create(article=article, **who, defaults=values)
    except IntegrityError:  # the same visitor, twice at once: the second updates
        feedback, _ = Feedback.objects.update_or_create(article=article, **who, defaults=values)
    _recount(article)
    return feedback


def _recount(article: Article) -> None:
    totals = Feedback.objects.filter(article=article).aggregate(
        rating_count=Count("pk", filter=Q(rating__isnull=False)),
        rating_average=Avg("rating"),
        helpful_count=Count("pk", filter=Q(helpful=True)),
        not_helpful_count=Count("pk", filter=Q(helpful=False)),
    )
    Article.objects.filter(pk=article.pk).update(**totals)
    for name, value in totals.items():
        setattr(article, name, value)


# --- deflection ------------------------------------------------------------------------------

# A request filed this long after opening a suggested article still counts as "not deflected".
DEFLECTION_WINDOW = timedelta(hours=24)


def viewer_key(*, user=None, session_key: str = "") -> str:
    """Who opened a suggestion, as stored: a digest of the user id or the session key."""
    if user is not None and user.is_authenticated:
        return hashlib.sha256(f"knowledge-viewer:user:{user.pk}".encode()).hexdigest()
    return visitor_key(session_key) if session_key else ""


def record_suggestion_opened(*, article: Article, user=None, session_key: str = ""):
    key = viewer_key(user=user, session_key=session_key)
    if key and article.is_public:
        SuggestionOpened.objects.create(article=article, viewer=key)


def note_ticket_followed(*, user=None, session_key: str = "", at=None) -> int:
    """A request was filed: the suggestions this person opened in the window did not deflect it.
    Called by whoever files requests (the help center), for the signed-in user and the session."""
    at = at or timezone.now()
    keys = {viewer_key(user=user), viewer_key(session_key=session_key)} - {""}
    if not keys:
        return 0
    return SuggestionOpened.objects.filter(
        viewer__in=keys, opened_at__gte=at - DEFLECTION_WINDOW, ticket_followed_at__isnull=True
    ).update(ticket_followed_at=at)


# --- views and searches --------------------------------------------------------------------


def add_views(counts: dict[int, int]) -> None:
    """Add counted views ({article id: views}) to the articles, one statement per article."""
    for article_id, views in counts.items():
        if views > 0:
            Article.objects.filter(pk=article_id).update(view_count=F("view_count") + views)


_SPACES = re.compile(r"\s+")


def normalized_query(query: str) -> str:
    return _SPACES.sub(" ", query.strip().lower())[:200]


def record_unanswered(query: str) -> None:
    """Count a search that found nothing (one upsert; concurrent searchers add up)."""
    text = normalized_query(query)
    if not text:
        return
    now = timezone.now()
    updated = UnansweredSearch.objects.filter(query=text).update(
        count=F("count") + 1, last_searched_at=now
    )
    if not updated:
        try:
            with transaction.atomic():
                UnansweredSearch.objects.create(query=text, first_searched_at=now,
                                                last_searched_at=now)  # fmt: skip
        except IntegrityError:
            UnansweredSearch.objects.filter(query=text).update(
                count=F("count") + 1, last_searched_at=now
            )
