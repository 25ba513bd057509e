"""What a searchable document is made of, declared once for both databases.

A domain describes its document (which expressions of a row go in, with which weight; which
columns and which related tables change it) and registers it; the migration installs it with
`core.search.operations.InstallSearchDocument`, and `core.search.search()` queries it. On
PostgreSQL the document is a stored, weighted `tsvector` column computed by a trigger; on SQLite
it is a row of an FTS5 table kept in step by triggers. Either way a write costs no statement
beyond the write itself.
"""

from dataclasses import dataclass, replace

# ts_rank's default weights (D, C, B, A are 0.1, 0.2, 0.4, 1.0); FTS5's bm25 takes the same
# ratios as column weights, so a word in a title counts as much more on both databases.
WEIGHTS = {"A": 1.0, "B": 0.4, "C": 0.2, "D": 0.1}


@dataclass(frozen=True)
class Field:
    """One part of a document: an SQL expression over the row, written with `{row}`.

    The same expression serves PostgreSQL and SQLite (keep to `||`, `coalesce`, `replace` and
    scalar subqueries), inside a trigger (`{row}` is `NEW`) and in a backfill (the table).
    """

    name: str
    sql: str
    weight: str = "D"

    def __post_init__(self):
        if self.weight not in WEIGHTS:
            raise ValueError(f"weight must be one of {', '.join(WEIGHTS)}")

    def on(self, row: str) -> str:
        return f"coalesce({self.sql.format(row=row)}, '')"


@dataclass(frozen=True)
class Related:
    """A table whose change changes documents: `key` is the document row's column holding the
    related row's id, `columns` the related columns the document reads (a rename re-indexes)."""

    table: str
    key: str
    columns: tuple[str, ...]
    pk: str = "id"


@dataclass(frozen=True)
class Document:
    table: str
    fields: tuple[Field, ...]
    # The row's own columns the fields read: changing one of them re-indexes the row.
    columns: tuple[str, ...]
    related: tuple[Related, ...] = ()
    # The field whose passages become snippets (cut in Python, `snippets.passages`): its name must
    # be a plain-text column of the row.
    snippet: str = ""
    # PostgreSQL: short columns of the row matched by trigram word similarity (typos, partial
    # words), through a GIN trigram index on their concatenation.
    fuzzy: tuple[str, ...] = ()
    # A numeric column: rank * (1 + boost).
    boost: str = ""
    # Bounded ranking: a ranked search scores only the first `candidates` matches in `prior`
    # order (ORM ordering strings, served by an index), not every match: a word found in a
    # fifth of 100,000 rows is then ranked in milliseconds, and the order within those
    # candidates is still by relevance. 0 ranks every match. Needs `prior`.
    candidates: int = 0
    prior: tuple[str, ...] = ()
    # The snippet reads at most this many characters of the snippet field (0: all of it):
    # highlighting costs in proportion to the text it parses, for every row of a page.
    snippet_chars: int = 0
    pk: str = "id"
    vector_column: str = "search_document"
    config: str = "english"
    tokenizer: str = "porter unicode61 remove_diacritics 2"

    def __post_init__(self):
        if self.snippet and self.snippet not in {f.name for f in self.fields}:
            raise ValueError("the snippet must be one of the fields")
        if self.candidates and not self.prior:
            raise ValueError("bounded ranking (candidates) needs a prior order")

    def installed(self) -> "Document":
        """This document without its query-time settings (bounded ranking, snippet length):
        what a migration installs, to compare a frozen copy with the live declaration."""
        return replace(self, candidates=0, prior=(), snippet_chars=0)

    # Names of the database objects, derived so that installing twice replaces, never doubles.
    @property
    def fts_table(self) -> str:
        return f"{self.table}_fts"

    @property
    def function(self) -> str:
        return f"{self.table}_search_document"

    @property
    def fuzzy_index(self) -> str:
        return f"{self.table}_search_trgm"

    @property
    def vector_index(self) -> str:
        return f"{self.table}_search"


_registry: dict[str, Document] = {}


def register(document: Document) -> Document:
    """Make `document` the one `search()` uses for rows of its table."""
    _registry[document.table] = document
    return document


def document_for(model) -> Document:
    try:
        return _registry[model._meta.db_table]
    except KeyError:
        raise LookupError(
            f"No search document is registered for {model._meta.label}; "
            "register one with core.search.register()."
        ) from None
