"""What an article's search document is made of (searched through `core.search`).

Title (weight A); summary, keywords and tags (B); the rendered text of the content (C).
Snippets come from the content; typos are matched on the title (PostgreSQL trigrams); an
article's `search_boost` multiplies its rank by (1 + boost). Pinned articles come first among
the matches (`knowledge.selectors`).
"""

from core.search import Document, Field, register

ARTICLES = register(
    Document(
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
)
