"""What a ticket's search document is made of (searched through `core.search`).

Subject (weight A); the customer's account's current name and the organisation's name (B);
the description (C). The contact name and address on the ticket are encrypted columns
(`core.crypto`, issue 22), so they are not in the document (it would hold their words in
clear): a ticket is found by them only exactly, through their keyed hashes (an address
typed into the search box, the desk's customer filter by address or name). Messages are not
part of it: internal notes must never be findable by customers, and a customer's search must
not depend on which notes exist. On PostgreSQL the document is `Ticket.search_document`, kept
by trigger functions (migrations 0009, 0022) and indexed with GIN, with a trigram index on the
subject for typos; on SQLite an FTS5 table kept by triggers. Renaming an organisation or a
customer's account re-indexes their tickets in the same statement (a trigger on their table),
so no search ever finds a ticket by a name it no longer has, and no Python code has to remember.
"""

from core.search import Document, Field, Related, register

TICKETS = register(
    Document(
        table="support_ticket",
        fields=(
            Field("subject", "{row}.subject", "A"),
            Field(
                "customer",
                "(SELECT full_name FROM core_user WHERE id = {row}.customer_id)",
                "B",
            ),
            Field(
                "organization",
                "(SELECT name FROM core_organization WHERE id = {row}.organization_id)",
                "B",
            ),
            Field("description_text", "{row}.description_text", "C"),
        ),
        columns=("subject", "description_text", "customer_id", "organization_id"),
        related=(
            Related("core_organization", key="organization_id", columns=("name",)),
            Related("core_user", key="customer_id", columns=("full_name",)),
        ),
        snippet="description_text",
        fuzzy=("subject",),
    )
)

# Migration 0005 installed the first version (subject and description only) with these
# statements and still imports them; migration 0009 replaces its trigger.
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
