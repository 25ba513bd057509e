"""PostgreSQL full-text search over tickets.

`Ticket.search_document` is a stored tsvector kept up to date by a trigger (migration 0005) and
indexed with GIN, so matching a row costs a lookup, not a `to_tsvector` over its text.
"""

from django.contrib.postgres.search import SearchQuery

SEARCH_CONFIG = "english"
TRIGGER_SQL = """
CREATE TRIGGER support_ticket_search_document
BEFORE INSERT OR UPDATE OF subject, description_text, search_document ON support_ticket
FOR EACH ROW EXECUTE FUNCTION
tsvector_update_trigger(search_document, 'pg_catalog.english', subject, description_text);
"""
BACKFILL_SQL = """
UPDATE support_ticket SET search_document = to_tsvector('pg_catalog.english',
    coalesce(subject, '') || ' ' || coalesce(description_text, ''))
"""
INDEX_SQL = (
    "CREATE INDEX IF NOT EXISTS support_ticket_search ON support_ticket USING gin (search_document)"
)


def full_text(queryset, q: str):
    """Tickets whose subject or description match `q` (web-search syntax: "quotes", -not, or)."""
    return queryset.filter(
        search_document=SearchQuery(q, config=SEARCH_CONFIG, search_type="websearch")
    )
