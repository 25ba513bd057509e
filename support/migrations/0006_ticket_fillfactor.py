from django.db import migrations


def set_fillfactor(apps, schema_editor):
    # Tickets are updated many times in their life (status, clocks, flags). Free room on each
    # page lets PostgreSQL update a row in place (HOT) instead of adding an entry to every one of
    # the table's indexes.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE support_ticket SET (fillfactor = 80)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE support_ticket RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("support", "0005_ticket_search_document")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
