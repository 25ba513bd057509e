from django.db import migrations

from core.search import postgres

TABLE, COLUMN = "support_ticket", "search_document"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in postgres.statistics_sql(TABLE, COLUMN):
            schema_editor.execute(sql)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in postgres.statistics_sql(TABLE, COLUMN, target=-1):  # -1: the default again
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0025_privacy_encrypted_contacts"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
