from django.db import migrations, models

BATCH = 5000


def keep_search_documents_inline(apps, schema_editor):
    """PostgreSQL: store each article's search vector in its row (compressed), not in TOAST.

    A bounded search tests the vector of every row it walks in prior order; out of line, each
    test fetched ~5 TOAST pages (12 µs a row), in line 1.5 µs (docs/performance.md). The
    larger text columns still go to TOAST first, so the row stays under a page. Existing rows
    are rewritten in batches (setting the vector to NULL recomputes it: knowledge/0002).
    """
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        'ALTER TABLE "knowledge_article" ALTER COLUMN "search_document" SET STORAGE MAIN'
    )
    with schema_editor.connection.cursor() as cursor:
        cursor.execute('SELECT min(id), max(id) FROM "knowledge_article"')
        low, high = cursor.fetchone()
        if low is None:
            return
        for start in range(low, high + 1, BATCH):
            cursor.execute(
                'UPDATE "knowledge_article" SET "search_document" = NULL '
                "WHERE id >= %s AND id < %s",
                [start, start + BATCH],
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
