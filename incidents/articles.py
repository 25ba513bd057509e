"""Knowledge-base articles about an incident: the known-issue draft a post-mortem becomes, and
links to articles (DESIGN §5 lists incidents among an article's links).

The draft is written for customers: the post-mortem's summary, root cause and lessons, never
its contributing factors or action items (names, owners and internal detail) nor the timeline.
It starts as a draft for an author to review and publish through the knowledge base's own
workflow; nothing here publishes. An incident kept off the status page gives an internal
draft. The status page shows only linked articles anyone may read (published, not internal).
"""

import re

from django.db import transaction
from django.db.models.signals import post_save, pre_delete

from core import audit
from core.errors import Conflict, DomainError
from core.inputs import parse_id
from knowledge import services as knowledge_services
from knowledge.models import Article
from knowledge.models import Category as ArticleCategory

from . import statuspage
from .models import Incident, IncidentArticle, IncidentEvent, PostMortem
from .permissions import can_run

Kind = IncidentEvent.Kind
ARTICLE_NUMBER = re.compile(r"KB-[0-9]{1,12}")
SUMMARY_LENGTH = Article._meta.get_field("summary").max_length


def _lock(incident: Incident) -> Incident:
    return Incident.objects.select_for_update(of=("self",)).get(pk=incident.pk)


def linked_articles(incident: Incident):
    return IncidentArticle.objects.filter(incident=incident).select_related("article")


def _article(ref) -> Article:
    """An article by id or number (`KB-00042`); staff may link drafts and internal ones."""
    ref = str(ref or "").strip().upper()
    pk = parse_id(ref)
    if pk is not None:
        article = Article.objects.filter(pk=pk).first()
    elif ARTICLE_NUMBER.fullmatch(ref):
        article = Article.objects.filter(number=ref).first()
    else:
        article = None
    if article is None:
        raise DomainError(
            "No such article.", errors={"article": [f"Unknown: {ref[:40] or 'nothing given'}."]}
        )
    return article


def _link(incident: Incident, article: Article, *, by) -> bool:
    _, created = IncidentArticle.objects.get_or_create(
        incident=incident, article=article, defaults={"linked_by": by}
    )
    if created:
        audit.record(IncidentEvent, incident=incident, kind=Kind.ARTICLE_LINKED, actor=by,
                     after={"article": article.pk})  # fmt: skip
        transaction.on_commit(statuspage.invalidate)
    return created


@transaction.atomic
def link_article(*, incident: Incident, by, article) -> tuple[Article, bool]:
    """Link an article (id or number) to the incident; linking twice is harmless."""
    can_run.require(by, incident)
    article = _article(article)
    incident = _lock(incident)
    return article, _link(incident, article, by=by)


@transaction.atomic
def unlink_article(*, incident: Incident, by, article) -> bool:
    can_run.require(by, incident)
    article = _article(article)
    incident = _lock(incident)
    deleted, _ = IncidentArticle.objects.filter(incident=incident, article=article).delete()
    if deleted:
        audit.record(IncidentEvent, incident=incident, kind=Kind.ARTICLE_UNLINKED, actor=by,
                     before={"article": article.pk})  # fmt: skip
        transaction.on_commit(statuspage.invalidate)
    return bool(deleted)


def draft_content(postmortem: PostMortem) -> str:
    """The article's Markdown: what customers should know, in the post-mortem's words."""
    sections = [
        ("What happened", postmortem.summary),
        ("Cause", postmortem.root_cause),
        ("What we are changing", postmortem.lessons),
    ]
    return "\n\n".join(f"## {title}\n\n{text}" for title, text in sections if text.strip())


def _summary(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= SUMMARY_LENGTH:
        return text
    return text[: SUMMARY_LENGTH - 1].rsplit(" ", 1)[0] + "…"


@transaction.atomic
def draft_known_issue(*, incident: Incident, by) -> tuple[Article, bool]:
    """The known-issue draft of the incident's completed post-mortem, made once: a retried
    request returns the same article (`created` False). The article is linked to the incident."""
    can_run.require(by, incident)
    incident = _lock(incident)
    postmortem = PostMortem.objects.filter(incident=incident).first()
    if postmortem is None or not postmortem.is_complete:
        raise Conflict(
            "Complete the post-mortem before drafting an article from it.",
            code="postmortem_incomplete",
        )
    if postmortem.article_id is not None:
        return Article.objects.get(pk=postmortem.article_id), False
    article = knowledge_services.create_article(
        by=by,
        title=incident.title,
        category=ArticleCategory.KNOWN_ISSUE,
        summary=_summary(postmortem.summary),
        content=draft_content(postmortem),
        is_internal=not incident.is_public,
    )
    postmortem.article = article
    postmortem.save(update_fields=["article", "updated_at"])
    audit.record(IncidentEvent, incident=incident, kind=Kind.ARTICLE_DRAFTED, actor=by,
                 after={"article": article.pk})  # fmt: skip
    _link(incident, article, by=by)
    return article, True


def _article_changed(sender, instance, **kwargs):
    """An article linked to an incident was published, hidden or changed: the status page
    shows it (or stops showing it) from the next request. The knowledge base knows nothing of
    incidents, so incidents listen."""
    if kwargs.get("raw"):
        return
    if IncidentArticle.objects.filter(article_id=instance.pk).exists():
        transaction.on_commit(statuspage.invalidate)


def connect_signals() -> None:
    post_save.connect(_article_changed, sender=Article, dispatch_uid="incidents-article-saved")
    # Before the delete: its links go with it.
    pre_delete.connect(_article_changed, sender=Article, dispatch_uid="incidents-article-deleted")
