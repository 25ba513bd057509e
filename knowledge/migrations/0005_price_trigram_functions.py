from django.db import migrations

from core.search import postgres


def price_trigram_functions(apps, schema_editor):
    # Here because pg_trgm is installed by this app's 0002 (and support's 0009).
    if schema_editor.connection.vendor == "postgresql":
        postgres.price_trigram_functions(schema_editor.connection)


def unprice_trigram_functions(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        postgres.price_trigram_functions(schema_editor.connection, cost=1)


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0004_search_prior"),
    ]

    operations = [
        migrations.RunPython(price_trigram_functions, unprice_trigram_functions),
    ]
