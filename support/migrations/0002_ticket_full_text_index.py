from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite (embedded mode) searches with LIKE
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS support_ticket_fts ON support_ticket USING gin (("
        "to_tsvector('english'::regconfig, "
        "coalesce(subject, '') || ' ' || coalesce(description_text, ''))))"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS support_ticket_fts")


class Migration(migrations.Migration):
    dependencies = [("support", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
