"""Knowledge base articles a ticket was answered with: sent in a staff reply, or linked by hand.

Staff only: the links, their events (internal) and the panels that show them never reach a
customer. `knowledge` cannot see tickets, so the rows are support's (`TicketArticle`).
"""

import re

from django.db import transaction

from core.errors import DomainError
from core.models import User
from knowledge.models import Article, Status

from .. import events, permissions
from ..models import Ticket, TicketArticle, TicketMessage

Kind = events.Kind
How = TicketArticle.How

# A help-center article's address in a reply: an absolute link (the sanitiser keeps only
# those, in `href`) or the address typed or inserted as text ("Insert in reply" puts the
# address itself). The slug alphabet is SlugField's.
ARTICLE_URL = re.compile(r"https?://[^\s/\"'<>]+/help/kb/([-\w]+)/", re.ASCII)
# Paths of the help center under /help/kb/ that are no article (knowledge.services).
_NOT_ARTICLES = frozenset({"search", "suggest", "category"})


def article_slugs_in(html: str) -> list[str]:
    """The slugs of help-center article addresses in `html`, in order, once each."""
    if "/help/kb/" not in html:  # most replies: no regular expression, no query
        return []
    slugs = (m.group(1).lower() for m in ARTICLE_URL.finditer(html))
    return [s for s in dict.fromkeys(slugs) if s not in _NOT_ARTICLES]


def link_articles_in_reply(message: TicketMessage) -> list[TicketArticle]:
    """A staff member's public reply sent published articles: link each to the ticket (as
    "inserted"; an article already linked stays as it was). Inside the reply's transaction.

    No query unless the reply holds an article address."""
    slugs = article_slugs_in(message.body_html)
    if not slugs:
        return []
    articles = list(Article.objects.filter(slug__in=slugs, status=Status.PUBLISHED))
    linked = set(
        TicketArticle.objects.filter(ticket=message.ticket, article__in=articles).values_list(
            "article_id", flat=True
        )
    )
    new = [
        TicketArticle(
            ticket=message.ticket,
            article=article,
            how=How.INSERTED,
            linked_by=message.author,
            linked_at=message.created_at,
        )
        for article in articles
        if article.pk not in linked
    ]
    # The ticket row is locked by the reply: no other writer can add the same pair meanwhile.
    TicketArticle.objects.bulk_create(new)
    for link in new:
        events.record(
            ticket=message.ticket,
            kind=Kind.ARTICLE_LINKED,
            actor=message.author,
            after={"article": link.article.number, "how": How.INSERTED},
        )
    return new


@transaction.atomic
def link_article(*, ticket: Ticket, article: Article, by: User) -> TicketArticle:
    """Link an article to a ticket by hand (any article staff may read, drafts too)."""
    permissions.can_link_articles.require(by, ticket)
    link, created = TicketArticle.objects.get_or_create(
        ticket=ticket, article=article, defaults={"how": How.LINKED, "linked_by": by}
    )
    if not created:
        raise DomainError(
            f"{article.number} is already linked to {ticket.number}.", code="already_linked"
        )
    events.record(
        ticket=ticket,
        kind=Kind.ARTICLE_LINKED,
        actor=by,
        after={"article": article.number, "how": How.LINKED},
    )
    return link


@transaction.atomic
def unlink_article(*, ticket: Ticket, article: Article, by: User) -> None:
    permissions.can_link_articles.require(by, ticket)
    link = TicketArticle.objects.filter(ticket=ticket, article=article).first()
    if link is None:
        raise DomainError(f"{article.number} is not linked to {ticket.number}.", code="not_linked")
    link.delete()
    events.record(
        ticket=ticket,
        kind=Kind.ARTICLE_UNLINKED,
        actor=by,
        before={"article": article.number, "how": link.how},
    )
