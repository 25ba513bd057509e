"""Search behind one interface: PostgreSQL full text in production, SQLite FTS5 embedded.

A domain declares what its rows' documents are made of (`Document`, `Field`, `Related`),
registers it, installs it in a migration (`core.search.operations.InstallSearchDocument`), and
calls `search()` on a queryset it has already scoped to what the user may see::

    ARTICLES = register(Document(table="knowledge_article", fields=(...), ...))
    results = search(Article.objects.visible_to(user), "reset password")
    [(a.title, a.search_rank, a.search_snippet) for a in results[:10]]
"""

from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.models import FloatField, Value

from . import postgres, sqlite
from .documents import Document, Field, Related, document_for, register
from .query import parse
from .snippets import SnippetField, highlight

__all__ = [
    "Document",
    "Field",
    "Related",
    "SnippetField",
    "document_for",
    "highlight",
    "register",
    "search",
]


def search(queryset, query: str, *, ordered: bool = True, snippets: bool = True):
    """The rows of `queryset` matching `query` (web-search syntax), best first and annotated
    with `search_rank` if `ordered` (bigger is better; comparable within one search only; on
    PostgreSQL an unordered search computes no rank) and, if `snippets`,
    `search_snippet` (safe HTML, matched words in `<mark>`), best first if `ordered`.

    It only ever narrows `queryset`: scope it first (`visible_to(user)`). A query with nothing
    to match (blank, only stop words or exclusions) matches nothing. The result carries a join
    on SQLite: use it as the outer query, not inside `pk__in=`.
    """
    if not hasattr(queryset, "model"):
        queryset = queryset._default_manager.all()  # a model class
    document = document_for(queryset.model)
    parsed = parse(query.strip())
    if parsed.empty:
        return _nothing(queryset, ordered, snippets)
    vendor = connections[queryset.db].vendor
    backend = {"postgresql": postgres, "sqlite": sqlite}.get(vendor)
    if backend is None:
        # The platform runs on PostgreSQL (production) and SQLite (embedded) only (DESIGN §2).
        raise ImproperlyConfigured(f"Search runs on PostgreSQL or SQLite, not {vendor}.")
    found = backend.search(queryset, document, parsed, snippets=snippets, rank=ordered)
    if found is None:  # nothing could match
        return _nothing(queryset, ordered, snippets)
    return found.order_by("-search_rank", "-pk") if ordered else found


def _nothing(queryset, ordered: bool, snippets: bool):
    """No rows, annotated as a result would be: a caller may still order by `search_rank`."""
    empty = queryset.none()
    if ordered:
        empty = empty.annotate(search_rank=Value(0.0, output_field=FloatField()))
    if snippets:
        empty = empty.annotate(search_snippet=Value("", output_field=SnippetField()))
    return empty
