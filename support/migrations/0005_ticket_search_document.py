import django.contrib.postgres.search
from django.db import migrations


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite (embedded mode) searches with LIKE
    from support.search import BACKFILL_SQL, INDEX_SQL, TRIGGER_SQL

    schema_editor.execute("DROP INDEX IF EXISTS support_ticket_fts")
    schema_editor.execute(TRIGGER_SQL)
    schema_editor.execute(BACKFILL_SQL)
    schema_editor.execute(INDEX_SQL)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS support_ticket_search")
    schema_editor.execute("DROP TRIGGER IF EXISTS support_ticket_search_document ON support_ticket")


class Migration(migrations.Migration):
    dependencies = [("support", "0004_queue_indexes")]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="search_document",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(install, uninstall),
    ]
