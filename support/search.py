"""PostgreSQL full-text search over tickets, matching the GIN index of migration 0002."""

from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db.models.expressions import RawSQL

# Must stay identical to the indexed expression, or PostgreSQL cannot use the index.
TICKET_DOCUMENT_SQL = (
    "to_tsvector('english'::regconfig, "
    "coalesce(\"support_ticket\".\"subject\", '') || ' ' || "
    'coalesce("support_ticket"."description_text", \'\'))'
)
INDEX_SQL = (
    "CREATE INDEX IF NOT EXISTS support_ticket_fts ON support_ticket USING gin (("
    "to_tsvector('english'::regconfig, "
    "coalesce(subject, '') || ' ' || coalesce(description_text, ''))))"
)


def full_text(queryset, q: str):
    """Tickets whose subject or description match `q` (web-search syntax: "quotes", -not, or)."""
    return queryset.alias(
        document=RawSQL(TICKET_DOCUMENT_SQL, [], output_field=SearchVectorField())
    ).filter(document=SearchQuery(q, config="english", search_type="websearch"))
