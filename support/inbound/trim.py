"""Quoted history and signatures cut from the body an agent reads; the original is kept.

A reply by e-mail repeats the whole conversation below (or, in Outlook, after) the new text.
The shown body stops at the first sign of quoted history or of a signature:

* Gmail, Apple Mail, Thunderbird: the attribution line "On <date>, <name> wrote:" (a few
  languages, also wrapped over two lines), and their HTML quote containers;
* Outlook: "-----Original Message-----", a "From: … Sent: …" header block (after a rule or
  not), and its `divRplyFwdMsg` / `appendonsend` / bordered reply containers;
* a trailing block of `>`-quoted lines (quotes interleaved with answers are kept: the answers
  would make no sense without them);
* the signature delimiter "-- " and mobile footers ("Sent from my iPhone", "Get Outlook for …").

A forwarded mail (Fwd:/Fw: subject, or a "Forwarded message" / "Begin forwarded message"
marker) is shown whole: what was forwarded is the point of it. When trimming would leave
nothing (a mail that is only a quote), the whole body is shown.
"""

import re

_ATTRIBUTION = re.compile(
    r"^(?:On|Am|Le|El|Il|Op|Den|W dniu)\b.{0,300}?"
    r"(?:wrote|schrieb|a écrit|escribió|ha scritto|schreef|skrev|napisał)\s*:\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_TAIL = re.compile(
    r"(?:wrote|schrieb|a écrit|escribió|ha scritto|schreef|skrev|napisał)\s*:$", re.IGNORECASE
)
_ORIGINAL_MESSAGE = re.compile(
    r"^-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original)"
    r"\s*-{2,}\s*$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^_{20,}\s*$")
_HEADER_FROM = re.compile(r"^\*?(?:From|Von|De|Van)\s*:\*?\s", re.IGNORECASE)
_HEADER_SENT = re.compile(
    r"^\*?(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado|Verzonden)\s*:\*?\s", re.IGNORECASE
)
_MOBILE_FOOTER = re.compile(
    r"^(?:Sent from my \w+|Sent from (?:Mail|Outlook|Yahoo Mail) for \w+|Get Outlook for \w+"
    r"|Sent from Outlook|Von meinem \w+ gesendet|Envoyé de mon \w+|Enviado desde mi \w+)",
    re.IGNORECASE,
)
_FORWARD_MARKER = re.compile(
    r"-{5,}\s*Forwarded message\s*-{5,}|Begin forwarded message:|-{5,}\s*Weitergeleitete Nachricht",
    re.IGNORECASE,
)
_FORWARD_SUBJECT = re.compile(r"^\s*(?:fwd?|wg|tr|rv)\s*:", re.IGNORECASE)

# Where quoted history or a signature starts in the HTML of the common mailers.
_HTML_MARKERS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"<div[^>]*\bclass=[\"']?[^\"'>]*\bgmail_(?:quote|signature)\b",
        r"<blockquote[^>]*\btype=[\"']?cite\b",
        r"<div[^>]*\bid=[\"']?(?:appendonsend|divRplyFwdMsg|mail-editor-reference-message-container)\b",
        r"<div[^>]*\bclass=[\"']?[^\"'>]*\b(?:moz-cite-prefix|moz-signature|yahoo_quoted)\b",
        r"<div[^>]*\bstyle=[\"'][^\"']*border-top:\s*solid\s*#(?:E1E1E1|B5C4DF)",
        r"-{2,}\s*Original Message\s*-{2,}",
        r"(?<=>)\s*(?:On|Am|Le|El)\s[^<>]{5,300}?(?:wrote|schrieb|a écrit|escribió)\s*:",
        r"(?<=>)\s*(?:Sent from my \w+|Get Outlook for \w+)",
        r"(?<=>)--(?:\s|&nbsp;)?(?=<(?:br|/div|/p)\b)",
    )
]


def is_forward(subject: str, text: str) -> bool:
    return bool(_FORWARD_SUBJECT.match(subject or "") or _FORWARD_MARKER.search(text or ""))


def trim_text(text: str) -> str:
    """`text` up to the first quoted history or signature (see the module's rules)."""
    lines = text.replace("\r\n", "\n").split("\n")
    cut = _first_cut(lines)
    trimmed = "\n".join(lines[:cut]).rstrip()
    return trimmed if trimmed.strip() else text.strip()


def _first_cut(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        stripped = line.strip()
        following = [other.strip() for other in lines[index + 1 : index + 6]]
        joined = f"{stripped} {following[0]}" if following else stripped
        if _ATTRIBUTION.match(stripped) or (
            stripped[:3].lower() in ("on ", "am ", "le ", "el ") and _ATTRIBUTION.match(joined)
        ):
            return index
        if _ORIGINAL_MESSAGE.match(stripped) or _MOBILE_FOOTER.match(stripped):
            return index
        if line.rstrip("\r") in ("-- ", "--"):
            return index
        if _RULE.match(stripped) and any(_HEADER_FROM.match(other) for other in following[:2]):
            return index
        if _HEADER_FROM.match(stripped) and any(_HEADER_SENT.match(o) for o in following[:4]):
            return index
        if stripped.startswith(">") and _only_quotes_follow(lines[index:]):
            return _with_attribution(lines, index)
    return len(lines)


def _only_quotes_follow(lines: list[str]) -> bool:
    """Every non-blank line is quoted, up to the end or a signature delimiter."""
    for line in lines:
        if line.rstrip("\r") in ("-- ", "--"):
            return True
        if line.strip() and not line.strip().startswith(">"):
            return False
    return True


def _with_attribution(lines: list[str], index: int) -> int:
    """Where a trailing quote starts, its "Jane Doe wrote:" line (any form) included."""
    previous = index - 1
    while previous >= 0 and not lines[previous].strip():
        previous -= 1
    if previous >= 0 and _ATTRIBUTION_TAIL.search(lines[previous].strip()):
        return previous
    return index


def trim_html(html: str) -> str:
    """The raw (unsanitised) `html` cut at the first quote container or marker; the caller
    sanitises the result, which closes whatever the cut left open."""
    positions = [m.start() for pattern in _HTML_MARKERS if (m := pattern.search(html))]
    return html[: min(positions)] if positions else html
