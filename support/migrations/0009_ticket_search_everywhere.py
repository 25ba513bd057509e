"""Ticket search through `core.search`: a weighted document (subject; customer and organisation;
description) kept by trigger functions on PostgreSQL, with a trigram index for typos; an FTS5
table kept by triggers on SQLite (the embedded mode had no full text before).

Not atomic: the trigram index is built CONCURRENTLY and the backfill commits batch by batch;
every step can run again after a stop half-way. The document is frozen here; a test checks it
is still the one `support.search` declares.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

from core.search import Document, Field, Related
from core.search.operations import InstallSearchDocument

TICKETS = Document(
    table="support_ticket",
    fields=(
        Field("subject", "{row}.subject", "A"),
        Field(
            "customer",
            "{row}.customer_name || ' ' "
            "|| replace(replace({row}.customer_email, '@', ' '), '.', ' ') || ' ' "
            "|| coalesce((SELECT full_name FROM core_user WHERE id = {row}.customer_id), '')",
            "B",
        ),
        Field(
            "organization",
            "(SELECT name FROM core_organization WHERE id = {row}.organization_id)",
            "B",
        ),
        Field("description_text", "{row}.description_text", "C"),
    ),
    columns=(
        "subject",
        "description_text",
        "customer_name",
        "customer_email",
        "customer_id",
        "organization_id",
    ),
    related=(
        Related("core_organization", key="organization_id", columns=("name",)),
        Related("core_user", key="customer_id", columns=("full_name",)),
    ),
    snippet="description_text",
    fuzzy=("subject", "customer_name"),
)

# Migration 0005's trigger (subject and description only, no weights).
FIRST_TRIGGER = """
CREATE TRIGGER support_ticket_search_document
BEFORE INSERT OR UPDATE OF subject, description_text, search_document ON support_ticket
FOR EACH ROW EXECUTE FUNCTION
tsvector_update_trigger(search_document, 'pg_catalog.english', subject, description_text)
"""


def drop_first_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP TRIGGER IF EXISTS support_ticket_search_document ON support_ticket"
        )


def restore_first_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        drop_first_trigger(apps, schema_editor)
        schema_editor.execute(FIRST_TRIGGER)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("support", "0008_ticket_awaiting_agent_index")]

    operations = [
        TrigramExtension(),
        # The new triggers run after the old one (same event, later name), so the new document
        # wins until the old trigger goes.
        InstallSearchDocument(TICKETS),
        migrations.RunPython(drop_first_trigger, restore_first_trigger, atomic=False),
    ]
