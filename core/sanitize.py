"""HTML for support messages: an allow-list sanitiser, a plain-text rendering and the reverse.

Customer and agent messages arrive as HTML (rich editor, inbound e-mail) or as plain text. Only
`sanitize_html` output may ever be rendered with `|safe`; the other two helpers produce text
for e-mail plain parts, search and previews, or HTML that is safe by construction.

Policy of `sanitize_html` (decided once, here):

* Formatting tags only. No `img`: remote images in a ticket are tracking pixels that leak the
  agent's IP address and reading time, and `data:` images are a parser-confusion risk; files
  belong in attachments, which are validated separately (`core.attachments`).
* No `style`, `class`, `id` or event attributes; links keep `href` and `title`, table cells
  `colspan`/`rowspan`.
* Link schemes http, https and mailto only, and relative URLs are dropped: in an e-mailed or
  quoted message they are meaningless, and inside the app they would make an attacker's link
  look like one of ours.
* Every link gets `rel="noopener noreferrer nofollow"`.
* Comments are stripped; the contents of script-like and embedding elements are dropped
  entirely rather than kept as text.
"""

import html
import re
from html.parser import HTMLParser

import nh3

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "strong", "b", "em", "i", "u", "s", "span", "a",
        "ul", "ol", "li", "blockquote", "code", "pre",
        "h1", "h2", "h3", "h4",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"

# Elements whose content is code, markup for another parser or an embedded document: showing it
# as text would only surface the attack payload to the agent.
DROP_CONTENT_TAGS = frozenset(
    {
        "script", "style", "template", "noscript", "noembed", "noframes", "iframe",
        "object", "embed", "applet", "frame", "frameset", "svg", "math", "xmp",
        "textarea", "select", "title", "head",
    }
)  # fmt: skip

_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROP_CONTENT_TAGS),
    # An explicit empty "*" entry: without it ammonia keeps its default lang/title on every tag.
    attributes={"*": set()} | {tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
    url_schemes=set(ALLOWED_URL_SCHEMES),
    url_relative="deny",
    link_rel=LINK_REL,
    strip_comments=True,
)


def sanitize_html(html_text: str) -> str:
    """Return `html_text` reduced to the allow-list above; the result is safe to render as-is.

    Guarantees: only `ALLOWED_TAGS` remain, only `ALLOWED_ATTRIBUTES` on them, every `href` is
    an absolute http/https/mailto URL, every link carries `rel="noopener noreferrer nofollow"`,
    no comments, and nothing from inside `DROP_CONTENT_TAGS` survives. Empty input gives "".
    """
    if not html_text:
        return ""
    return _cleaner.clean(html_text)


# --- HTML -> plain text -------------------------------------------------------------------------

# Elements that end a line (n=1) or a paragraph (n=2) before and after themselves.
_BLOCK_BREAKS = {
    "p": 2, "h1": 2, "h2": 2, "h3": 2, "h4": 2, "h5": 2, "h6": 2, "blockquote": 2,
    "pre": 2, "table": 2, "ul": 2, "ol": 2, "hr": 2, "dl": 2, "figure": 2, "form": 2,
    "fieldset": 2, "address": 2, "article": 2, "aside": 2, "section": 2, "header": 2,
    "footer": 2, "nav": 2, "main": 2,
    "div": 1, "li": 1, "tr": 1, "dt": 1, "dd": 1, "caption": 1, "figcaption": 1,
    "thead": 1, "tbody": 1, "tfoot": 1, "center": 1, "details": 1, "summary": 1,
}  # fmt: skip
# Never rendered by a browser, so never part of the text either.
_SKIP_TEXT_TAGS = DROP_CONTENT_TAGS
_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
     "source", "track", "wbr"}
)  # fmt: skip
_WHITESPACE = re.compile(r"[ \t\n\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


class _TextExtractor(HTMLParser):
    """Collects the visible text of an HTML document with line structure kept."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out: list[str] = []
        self._pending_breaks = 0
        self._skip_depth = 0
        self._pre_depth = 0
        # One entry per open <a>: its href and the text seen inside it so far.
        self._links: list[tuple[str, list[str]]] = []
        # One entry per open list: None for <ul>, the next number for <ol>.
        self._lists: list[int | None] = []
        self._row_has_cell = False

    # -- output primitives --

    def _ends_with_space(self) -> bool:
        return not self._out or self._out[-1][-1:] in (" ", "\n")

    def _block(self, breaks: int) -> None:
        self._pending_breaks = max(self._pending_breaks, breaks)

    def _write(self, text: str, *, verbatim: bool = False) -> None:
        if not verbatim and (self._pending_breaks or self._ends_with_space()):
            # Whitespace at the start of a line is layout, not text; it must not flush breaks.
            text = text.lstrip(" ")
        if not text:
            return
        if self._pending_breaks:
            if self._out:
                self._out.append("\n" * self._pending_breaks)
            self._pending_breaks = 0
        self._out.append(text)
        for _href, link_text in self._links:
            link_text.append(text)

    # -- parser callbacks --

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TEXT_TAGS:
            self._skip_depth += 1
            return
        if self._skip_depth:
            return
        if tag == "br":
            # Unlike blocks, consecutive <br> add up: two of them are a blank line.
            self._pending_breaks += 1
            if not self._out:
                self._pending_breaks = 0
            return
        if tag in _BLOCK_BREAKS:
            self._block(self._breaks_for(tag))
        if tag == "pre":
            self._pre_depth += 1
        elif tag == "ul":
            self._lists.append(None)
        elif tag == "ol":
            self._lists.append(1)
        elif tag == "li":
            self._write_list_marker()
        elif tag == "tr":
            self._row_has_cell = False
        elif tag in ("td", "th"):
            if self._row_has_cell:
                self._write(" | ", verbatim=True)
            self._row_has_cell = True
        elif tag == "a":
            self._links.append((dict(attrs).get("href") or "", []))
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self.handle_data(alt)

    def _write_list_marker(self) -> None:
        indent = "  " * max(len(self._lists) - 1, 0)
        if self._lists and self._lists[-1] is not None:
            number = self._lists[-1]
            self._lists[-1] = number + 1
            self._write(f"{indent}{number}. ", verbatim=True)
        else:
            self._write(f"{indent}- ", verbatim=True)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # `<br/>` must count once, not as an opening plus a closing tag.
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TEXT_TAGS:
            self._skip_depth = max(self._skip_depth - 1, 0)
            return
        if self._skip_depth or tag in _VOID_TAGS:
            return
        if tag == "pre":
            self._pre_depth = max(self._pre_depth - 1, 0)
        elif tag in ("ul", "ol") and self._lists:
            self._lists.pop()
        elif tag == "a" and self._links:
            self._close_link()
        if tag in _BLOCK_BREAKS:
            self._block(self._breaks_for(tag))

    def _breaks_for(self, tag: str) -> int:
        # A list nested in a list item continues that list instead of starting a paragraph.
        if tag in ("ul", "ol") and self._lists:
            return 1
        return _BLOCK_BREAKS[tag]

    def _close_link(self) -> None:
        href, link_text = self._links.pop()
        href = href.strip()
        if _url_scheme(href) not in ALLOWED_URL_SCHEMES:
            return
        shown = _WHITESPACE.sub(" ", "".join(link_text)).strip()
        bare = href[len("mailto:") :] if href.lower().startswith("mailto:") else href
        if shown in (href, bare):
            return
        if not shown:
            self._write(bare)
        else:
            self._write(f" ({bare})")

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._pre_depth:
            self._write(data.replace("\r\n", "\n"), verbatim=True)
        else:
            self._write(_WHITESPACE.sub(" ", data))

    def text(self) -> str:
        raw = "".join(self._out)
        lines = [line.rstrip() for line in raw.split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n").rstrip()


def _url_scheme(url: str) -> str:
    """The lower-cased scheme of `url` as a browser would read it ("" if relative)."""
    # Browsers ignore ASCII whitespace and control characters inside the scheme.
    cleaned = re.sub(r"[\x00-\x20\x7f]", "", html.unescape(url))
    match = re.match(r"([a-zA-Z][a-zA-Z0-9+.\-]*):", cleaned)
    return match.group(1).lower() if match else ""


def html_to_text(html_text: str) -> str:
    """Return the readable text of `html_text` (any HTML, sanitised or not).

    Guarantees: no markup in the result; entities decoded; script/style/head and similar
    invisible content dropped; block elements and `<br>` become line breaks (a blank line
    between paragraphs, never more than one in a row); list items start with "- " or "1. ";
    table cells are joined with " | "; an http/https/mailto link whose text differs from its
    target reads "text (url)"; runs of whitespace outside `<pre>` collapse to one space and
    lines carry no trailing spaces.
    """
    if not html_text:
        return ""
    parser = _TextExtractor()
    parser.feed(html_text)
    parser.close()
    return parser.text()


# --- plain text -> HTML -------------------------------------------------------------------------


# A web address as people type it: http(s) up to the next space or markup-like character. A
# trailing full stop, comma or closing bracket is the sentence's, not the address's.
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?)]}"


def _line_to_html(line: str, *, linkify: bool) -> str:
    if not linkify:
        return html.escape(line)
    parts, position = [], 0
    for match in _URL.finditer(line):
        url = match.group(0)
        stripped = url.rstrip(_URL_TRAILING)
        if stripped.endswith(("://", "//")) or len(stripped) <= len("https://"):
            continue
        parts.append(html.escape(line[position : match.start()]))
        address = html.escape(stripped, quote=True)
        parts.append(f'<a href="{address}" rel="{LINK_REL}">{address}</a>')
        position = match.start() + len(stripped)
    parts.append(html.escape(line[position:]))
    return "".join(parts)


def text_to_html(text: str, *, linkify: bool = False) -> str:
    """Return `text` as HTML: escaped, blank-line-separated paragraphs as `<p>`, single line breaks
    as `<br>`; with `linkify`, http and https addresses become links (`rel` as `sanitize_html`
    sets it), so what a customer typed reads as they typed it.

    Guarantees: every character of the input is escaped (the output contains no markup other
    than `<p>`, `<br>` and, with `linkify`, `<a href="http(s)://…" rel=…>`), so it needs no
    further sanitising; empty or blank input gives "".
    """
    if not text:
        return ""
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [p.strip("\n") for p in re.split(r"\n[ \t]*\n", normalised)]
    rendered = [
        "<p>"
        + "<br>\n".join(_line_to_html(line, linkify=linkify) for line in paragraph.split("\n"))
        + "</p>"
        for paragraph in paragraphs
        if paragraph.strip()
    ]
    return "\n".join(rendered)
