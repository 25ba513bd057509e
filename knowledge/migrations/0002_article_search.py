"""Article search through `core.search`: the weighted document, its triggers and indexes.

Not atomic: the indexes are built CONCURRENTLY. The document is frozen here; a test checks it is
still the one `knowledge.search` declares.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

from core.search import Document, Field
from core.search.operations import InstallSearchDocument

ARTICLES = Document(
    table="knowledge_article",
    fields=(
        Field("title", "{row}.title", "A"),
        Field("summary", "{row}.summary", "B"),
        Field("keywords", "{row}.keywords || ' ' || {row}.tag_names", "B"),
        Field("content_text", "{row}.content_text", "C"),
    ),
    columns=("title", "summary", "keywords", "tag_names", "content_text"),
    snippet="content_text",
    fuzzy=("title",),
    boost="search_boost",
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("knowledge", "0001_initial")]

    operations = [TrigramExtension(), InstallSearchDocument(ARTICLES)]
