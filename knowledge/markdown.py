"""Article Markdown to safe HTML, once per change (the result is stored with the article).

CommonMark with tables and strikethrough (markdown-it-py); raw HTML in the Markdown is shown as
text, never passed through, and the output goes through the allow-list sanitiser of
`core.sanitize` anyway, here with relative links allowed (articles link to each other and to
pages of this site) and headings down to h6.
"""

import nh3
from markdown_it import MarkdownIt

from core.sanitize import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    ALLOWED_URL_SCHEMES,
    DROP_CONTENT_TAGS,
    LINK_REL,
    html_to_text,
)

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)

# Replies written on the desk: a line break is a line break (people write e-mails, not
# documents) and bare web addresses become links.
_message_markdown = MarkdownIt(
    "commonmark", {"html": False, "linkify": True, "breaks": True}
).enable(["table", "strikethrough", "linkify"])

_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS) | {"h5", "h6"},
    clean_content_tags=set(DROP_CONTENT_TAGS),
    attributes={"*": set()} | {tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
    url_schemes=set(ALLOWED_URL_SCHEMES),
    url_relative="pass_through",
    link_rel=LINK_REL,
    strip_comments=True,
)


def render(markdown_text: str) -> str:
    """Safe HTML for `markdown_text` (may be rendered with `|safe`)."""
    if not markdown_text:
        return ""
    return _cleaner.clean(_markdown.render(markdown_text))


def render_message(markdown_text: str) -> str:
    """Safe HTML for a reply or note typed in Markdown on the desk. Relative links pass here and
    are dropped by the message sanitiser (`core.sanitize`): an e-mail has no site to be
    relative to."""
    if not markdown_text:
        return ""
    return _cleaner.clean(_message_markdown.render(markdown_text))


def rendered(markdown_text: str) -> tuple[str, str]:
    """(html, text): the page's HTML and the words search and snippets read."""
    html = render(markdown_text)
    return html, html_to_text(html)
