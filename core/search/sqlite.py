"""SQLite (embedded mode): an FTS5 table with a row per document, kept in step by triggers on the
document's table and the related tables; bm25 with the same column weights, snippet()."""

import difflib
from dataclasses import replace

from django.db import connections
from django.db.models import FloatField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from .documents import WEIGHTS, Document
from .query import STOP_WORDS, ParsedQuery, Term, fts5_term, to_fts5
from .snippets import START, STOP, SnippetField


def _q(name: str) -> str:
    return f'"{name}"'


def _changed(columns) -> str:
    return " OR ".join(f"OLD.{_q(c)} IS NOT NEW.{_q(c)}" for c in columns)


def _values(document: Document, row: str) -> str:
    return ", ".join(f.on(row) for f in document.fields)


def install_sql(document: Document) -> list[str]:
    """The FTS5 table and its triggers; DROP IF EXISTS first, so it can run again."""
    fts, table = _q(document.fts_table), _q(document.table)
    columns = ", ".join(_q(f.name) for f in document.fields)
    pk = _q(document.pk)
    insert_new = (
        f"INSERT INTO {fts}(rowid, {columns}) VALUES (NEW.{pk}, {_values(document, 'NEW')});"
    )
    name = document.table
    statements = [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({columns}, "
        f"tokenize='{document.tokenizer}')",
        f'DROP TRIGGER IF EXISTS "{name}_search_insert"',
        f'CREATE TRIGGER "{name}_search_insert" AFTER INSERT ON {table} BEGIN {insert_new} END',
        f'DROP TRIGGER IF EXISTS "{name}_search_update"',
        f'CREATE TRIGGER "{name}_search_update" AFTER UPDATE OF '
        f"{', '.join(_q(c) for c in document.columns)} ON {table} "
        f"WHEN {_changed(document.columns)} BEGIN "
        f"DELETE FROM {fts} WHERE rowid = OLD.{pk}; {insert_new} END",
        f'DROP TRIGGER IF EXISTS "{name}_search_delete"',
        f'CREATE TRIGGER "{name}_search_delete" AFTER DELETE ON {table} BEGIN '
        f"DELETE FROM {fts} WHERE rowid = OLD.{pk}; END",
    ]
    for related in document.related:
        trigger = _q(f"{name}_search_{related.table}")
        affected = f"SELECT {pk} FROM {table} WHERE {_q(related.key)} = NEW.{_q(related.pk)}"
        statements += [
            f"DROP TRIGGER IF EXISTS {trigger}",
            f"CREATE TRIGGER {trigger} AFTER UPDATE OF "
            f"{', '.join(_q(c) for c in related.columns)} ON {_q(related.table)} "
            f"WHEN {_changed(related.columns)} BEGIN "
            f"DELETE FROM {fts} WHERE rowid IN ({affected}); "
            f"INSERT INTO {fts}(rowid, {columns}) SELECT {pk}, {_values(document, table)} "
            f"FROM {table} WHERE {_q(related.key)} = NEW.{_q(related.pk)}; END",
        ]
    return statements


def backfill_sql(document: Document) -> list[str]:
    fts, table = _q(document.fts_table), _q(document.table)
    columns = ", ".join(_q(f.name) for f in document.fields)
    return [
        f"DELETE FROM {fts}",
        f"INSERT INTO {fts}(rowid, {columns}) "
        f"SELECT {_q(document.pk)}, {_values(document, table)} FROM {table}",
    ]


def uninstall_sql(document: Document) -> list[str]:
    name = document.table
    statements = [f'DROP TRIGGER IF EXISTS "{name}_search_{r.table}"' for r in document.related]
    statements += [
        f'DROP TRIGGER IF EXISTS "{name}_search_{event}"'
        for event in ("insert", "update", "delete")
    ]
    statements.append(f"DROP TABLE IF EXISTS {_q(document.fts_table)}")
    return statements


# Typos: a word no document contains is also matched by the indexed words closest to it.
TYPO_MIN_LENGTH = 4
TYPO_ALTERNATIVES = 3
TYPO_CUTOFF = 0.75


def _known(cursor, fts: str, term: Term) -> bool:
    cursor.execute(f"SELECT 1 FROM {fts} WHERE {fts} MATCH %s LIMIT 1", [fts5_term(term)])
    return cursor.fetchone() is not None


def _close_words(cursor, fts: str, word: str) -> list[str]:
    """Indexed words (FTS5's vocabulary, stemmed as indexed) that look like `word`: same first
    letter, similar spelling. A per-connection `temp` vocabulary table reads the index itself."""
    vocab = _q(f"{fts.strip(chr(34))}_vocab")
    cursor.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{vocab} USING fts5vocab(main, {fts}, 'row')"
    )
    first = word[0]
    cursor.execute(
        f"SELECT term FROM temp.{vocab} WHERE term >= %s AND term < %s",
        [first, first + "\U0010ffff"],
    )
    words = [row[0] for row in cursor.fetchall()]
    return difflib.get_close_matches(word, words, n=TYPO_ALTERNATIVES, cutoff=TYPO_CUTOFF)


def with_typos(queryset, document: Document, query: ParsedQuery) -> ParsedQuery:
    """`query` where each word (or last word's prefix) that matches no document also accepts
    its closest indexed words (PostgreSQL gets the same tolerance from trigram similarity).
    A word that matches something is left alone, so a correct query costs one index probe per
    word and nothing else."""
    fts = _q(document.fts_table)
    groups = []
    with connections[queryset.db].cursor() as cursor:
        for group in query.groups:
            terms = list(group)
            for term in group:
                word = term.text.lower()
                if (
                    term.phrase
                    or len(word) < TYPO_MIN_LENGTH
                    or not word.isalpha()
                    or word in STOP_WORDS
                    or _known(cursor, fts, term)
                ):
                    continue
                terms += [Term(close) for close in _close_words(cursor, fts, word)]
            groups.append(tuple(terms))
    return replace(query, groups=tuple(groups))


def search(queryset, document: Document, query: ParsedQuery, *, snippets: bool, rank: bool = True):
    """The matching rows, annotated; None if nothing can match."""
    match = to_fts5(with_typos(queryset, document, query))
    if match is None:
        return None
    fts = _q(document.fts_table)
    model_table = _q(queryset.model._meta.db_table)
    if rank and document.candidates:
        # Bounded ranking: bm25() and snippet() below run for the first candidates only.
        # (Not `extra()` here: inside a subquery the table is aliased, and an extra WHERE
        # naming it would point at the outer query.)
        matching = RawSQL(f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s", [match])
        first = queryset.filter(pk__in=matching).order_by(*document.prior)
        first = first.values(document.pk)[: document.candidates]
        queryset = queryset.filter(pk__in=first)
    # A join with the FTS5 table, so bm25() and snippet() run once per row of one MATCH (a
    # correlated subquery would re-run the MATCH for every row). The ORM has no join to a table
    # without a model, hence `extra()`: the result must stay the outer query (not a subquery).
    queryset = queryset.extra(
        tables=[document.fts_table],
        where=[f"{fts}.rowid = {model_table}.{_q(document.pk)}", f"{fts} MATCH %s"],
        params=[match],
    )
    weights = ", ".join(f"{WEIGHTS[f.weight] * 10:g}" for f in document.fields)
    # bm25() is lower for better matches; negated, bigger is better, as ts_rank.
    rank = RawSQL(f"-bm25({fts}, {weights})", [], output_field=FloatField())
    if document.boost:
        rank = rank * (Value(1.0) + Cast(document.boost, FloatField()))
    queryset = queryset.annotate(search_rank=rank)
    if snippets and document.snippet:
        snippet = RawSQL(
            f"snippet({fts}, {document.snippet_position()}, %s, %s, '…', 24)",
            [START, STOP],
            output_field=SnippetField(),
        )
        queryset = queryset.annotate(search_snippet=snippet)
    return queryset
