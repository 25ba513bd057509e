from importlib import import_module

from django.db import migrations, models

from core.search import postgres


def keep_search_documents_inline(apps, schema_editor):
    """PostgreSQL: store each article's search vector in its row (compressed), not in TOAST.

    A bounded search tests the vector of every row it walks in prior order; out of line, each
    test fetched ~5 TOAST pages (12 µs a row), in line 1.5 µs (docs/performance.md). The
    larger text columns still go to TOAST first, so the row stays under a page. Existing rows
    are rewritten by the search document's batched backfill (knowledge/0002's document).
    """
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        'ALTER TABLE "knowledge_article" ALTER COLUMN "search_document" SET STORAGE MAIN'
    )
    with schema_editor.connection.cursor() as cursor:
        postgres.backfill(
            import_module("knowledge.migrations.0002_article_search").ARTICLES, cursor
        )


def back_to_extended(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            'ALTER TABLE "knowledge_article" ALTER COLUMN "search_document" SET STORAGE EXTENDED'
        )


class Migration(migrations.Migration):
    # Each batch of the rewrite commits on its own: no long transaction on a large table.
    atomic = False

    dependencies = [
        ("knowledge", "0003_suggestion_opened"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="article",
            index=models.Index(
                fields=["-is_pinned", "-search_boost", "-view_count", "-id"],
                name="knowledge_search_prior",
            ),
        ),
        migrations.RunPython(keep_search_documents_inline, back_to_extended),
    ]
