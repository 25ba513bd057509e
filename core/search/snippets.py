"""Snippets come back from the database as plain text with the matched words between two
private-use characters; they are HTML-escaped here and the marks become `<mark>` tags, so a
description containing markup can never inject it into a results page."""

import functools
import re

from django.db.models import ExpressionWrapper, F, TextField, Value
from django.db.models.functions import Concat, Left
from django.utils.html import escape
from django.utils.safestring import mark_safe

from .query import STOP_WORDS

START, STOP = "\ue000", "\ue001"


def highlight(text: str | None) -> str:
    if not text:
        return ""
    return mark_safe(escape(text).replace(START, "<mark>").replace(STOP, "</mark>"))


class SnippetField(TextField):
    def from_db_value(self, value, expression, connection):
        return highlight(value)


# --- snippets built in Python (both databases) -------------------------------------------------
# `ts_headline` was 2-3 ms of each search statement for a page of 26 articles (it parses and
# stems every word of each text), FTS5's snippet() 3 ms for the 100 rows ranked before the
# page is cut; finding the query's words with one regular expression and cutting two passages
# around them costs tens of microseconds a row here, and only for the rows fetched.

PACK = "\ue002"  # between the packed terms and the text in the value the database returns
PASSAGES = 2
BEFORE, AFTER = 70, 130  # characters around the first match of a passage
LEAD = 200  # without a match: the text's first characters
_SUFFIXES = ("ing", "ed", "es", "s")


def stem(word: str) -> str:
    """A crude English stem, enough to mark "passwords" for "password" and "reset" for
    "resetting" as the database's stemmer matched them."""
    word = word.lower()
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2]:
        word = word[:-1]  # "resett(ing)" -> "reset"
    return word


def pack_terms(words, prefixes) -> str:
    """The query's words as the snippet field receives them, ahead of the text."""
    return " ".join(sorted({stem(w) for w in words})) + "|" + " ".join(sorted(set(prefixes)))


@functools.lru_cache(maxsize=256)
def _matcher(packed: str):
    stems_text, _, prefixes_text = packed.partition("|")
    stems, prefixes = frozenset(stems_text.split()), tuple(prefixes_text.split())
    starts = sorted(stems | set(prefixes), key=len, reverse=True)
    if not starts:
        return None, stems, prefixes
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, starts)) + r")\w*", re.IGNORECASE)
    return pattern, stems, prefixes


def _cut(text: str, start: int, end: int) -> tuple[int, int]:
    """`start` and `end` moved out of the words they fall in, to the nearest space inwards."""
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < end else start
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    return start, end


def build(text: str, packed: str) -> str:
    """Up to two passages of `text` around the query's words, the words between START/STOP."""
    if not text:
        return ""
    pattern, stems, prefixes = _matcher(packed)
    hits = []
    if pattern is not None:
        for match in pattern.finditer(text):
            word = match.group(0).lower()
            if stem(word) in stems or word.startswith(prefixes):
                hits.append(match.span())
    if not hits:
        start, end = _cut(text, 0, min(len(text), LEAD))
        return text[start:end]
    passages, reach = [], -1
    for hit_start, hit_end in hits:
        if hit_start < reach:
            continue
        start, end = _cut(text, max(0, hit_start - BEFORE), min(len(text), hit_end + AFTER))
        passages.append((start, end))
        reach = end
        if len(passages) == PASSAGES:
            break
    written = []
    for start, end in passages:
        out, at = [], start
        for hit_start, hit_end in hits:
            if hit_start >= start and hit_end <= end:
                out += [text[at:hit_start], START, text[hit_start:hit_end], STOP]
                at = hit_end
        out.append(text[at:end])
        written.append("".join(out))
    return " … ".join(written)


class PassageSnippetField(TextField):
    """A snippet built here from the packed terms and the text the database returns."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return ""
        packed, _, text = value.partition(PACK)
        return highlight(build(text, packed))


def passages(document, query):
    """The `search_snippet` expression: the document's snippet text (its first `snippet_chars`)
    returned with the query's words packed ahead of it, cut and marked by the field."""
    text = F(document.snippet)
    if document.snippet_chars:
        text = Left(text, document.snippet_chars)
    words, prefixes = [], []
    for group in query.groups:
        for term in group:
            if term.prefix:
                prefixes.append(term.text.lower())
            else:
                words += [w for w in re.findall(r"\w+", term.text) if w.lower() not in STOP_WORDS]
    packed = Value(pack_terms(words, prefixes) + PACK)
    return ExpressionWrapper(
        Concat(packed, text, output_field=TextField()), output_field=PassageSnippetField()
    )
