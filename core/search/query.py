"""What a user types, read once: web-search syntax, as PostgreSQL's `websearch_to_tsquery` reads it.

Words in any order must all match; "quoted words" match as a phrase; `-word` excludes; `or`
between two terms accepts either. The last word, if typed bare, also matches as a prefix, so a
query typed half-way ("passw", "acm") already finds something. SQLite's FTS5 gets the same
query rewritten into its own syntax, every term quoted, so no input is an FTS5 syntax error.
"""

import re
from dataclasses import dataclass

_TOKENS = re.compile(r'(-?)"([^"]*)"?|(\S+)')
# A prefix of fewer letters matches too much to be worth its index scan.
PREFIX_MIN_LENGTH = 3
# PostgreSQL's `english` stop words: they never match there, so FTS5 must not require them.
_ENGLISH_STOP_WORDS = """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can did do does doing don down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other ours
    ourselves out over own s same she should so some such t than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with you your yours yourself yourselves"""
STOP_WORDS = frozenset(_ENGLISH_STOP_WORDS.split())


@dataclass(frozen=True)
class Term:
    text: str
    phrase: bool = False
    prefix: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    raw: str
    # All groups must match; a group matches if any of its terms does.
    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...]
    # PostgreSQL: the query without its last word, and that word to match as a prefix.
    head: str
    prefix: str

    @property
    def empty(self) -> bool:
        return not self.groups


def parse(raw: str) -> ParsedQuery:
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    pending_or = False
    last_bare = None  # (index of the token's start, word) if the last token is a bare word
    for match in _TOKENS.finditer(raw):
        negated, phrase, word = match.group(1), match.group(2), match.group(3)
        if word is not None and word.lower() == "or" and groups:
            pending_or = True
            continue
        if phrase is not None:
            term = Term(phrase.strip(), phrase=True)
            last_bare = None
        else:
            negated = word.startswith("-") and len(word) > 1
            text = word[1:] if negated else word
            term = Term(text)
            last_bare = None if negated or pending_or else (match.start(), text)
        if not term.text:
            continue
        if negated:
            excluded.append(term)
        elif pending_or:
            groups[-1].append(term)
        else:
            groups.append([term])
        pending_or = False
    head, prefix = raw, ""
    if (
        last_bare
        and re.fullmatch(r"\w+", last_bare[1])
        and len(last_bare[1]) >= PREFIX_MIN_LENGTH
        and last_bare[1].lower() not in STOP_WORDS
    ):
        head, prefix = raw[: last_bare[0]], last_bare[1]
        groups[-1] = [Term(prefix, prefix=True)]
    return ParsedQuery(
        raw=raw,
        groups=tuple(tuple(group) for group in groups),
        excluded=tuple(excluded),
        head=head,
        prefix=prefix,
    )


def fts5_term(term: Term) -> str:
    return '"' + term.text.replace('"', '""') + '"' + ("*" if term.prefix else "")


def to_fts5(query: ParsedQuery) -> str | None:
    """The FTS5 MATCH expression, or None when nothing can match (only stop words)."""

    def kept(term: Term) -> bool:
        return term.phrase or term.prefix or term.text.lower() not in STOP_WORDS

    groups = []
    for group in query.groups:
        # A stop word is ignored, as PostgreSQL ignores it ("x or the" is x).
        terms = [fts5_term(t) for t in group if kept(t)]
        if terms:
            groups.append(terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")")
    if not groups:
        return None
    expression = " AND ".join(groups)
    excluded = [fts5_term(t) for t in query.excluded if kept(t)]
    if excluded:
        expression = f"({expression}) NOT ({' OR '.join(excluded)})"
    return expression
