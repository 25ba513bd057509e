"""What an article's search document is made of (searched through `core.search`).

Title (weight A); summary, keywords and tags (B); the rendered text of the content (C).
Snippets come from the content; typos are matched on the title (PostgreSQL trigrams); an
article's `search_boost` multiplies its rank by (1 + boost). Pinned articles come first among
the matches (`knowledge.selectors`). A search matching more than 100 articles ranks the 100
most prominent of them (pinned, boosted, then most read): see `Document.candidates`.
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
        # A ranked search scores the 100 most prominent matches (pinned, boosted, most read):
        # a word in a fifth of 100,000 articles ranks in ~2 ms instead of ~65 (docs/performance.md).
        candidates=100,
        prior=("-is_pinned", "-search_boost", "-view_count", "-id"),
        snippet_chars=600,
    )
)
