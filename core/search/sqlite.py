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
from .snippets import passages


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


# A bounded search first reads up to this many matches' rowids: fewer, and the candidates are
# those rows, looked up by key; more (a common word), and it walks the prior order instead.
PROBE = 1000


def _candidates(queryset, document: Document, match: str) -> list:
    """The ids of the first `document.candidates` rows of `queryset` matching `match` in
    `document.prior` order.

    Read the other way round (every match's row by key, then sorted), a word in most articles
    cost 15 ms at 10,000; the walk in prior order stops at the page of candidates (1 ms), but
    for a rare word it would read the whole index, so the probe decides.
    """
    fts = _q(document.fts_table)
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s LIMIT %s", [match, PROBE + 1])
        probed = [row[0] for row in cursor.fetchall()]
    if len(probed) <= PROBE:
        first = queryset.filter(pk__in=probed)
    else:
        # Top-level, so the table is not aliased; `+` keeps SQLite from reading the matches by
        # key (the plan above) and has it test each row it walks against the set of matches.
        column = f"{_q(queryset.model._meta.db_table)}.{_q(document.pk)}"
        first = queryset.extra(
            where=[f"+{column} IN (SELECT rowid FROM {fts} WHERE {fts} MATCH %s)"], params=[match]
        )
    first = first.order_by(*document.prior).values_list(document.pk, flat=True)
    return list(first[: document.candidates])


def search(queryset, document: Document, query: ParsedQuery, *, snippets: bool, rank: bool = True):
    """The matching rows, annotated; None if nothing can match."""
    if rank and document.candidates:
        # Bounded ranking: bm25() and the snippets below are for the first candidates only.
        # Typos count only when nothing matched exactly, as on PostgreSQL: a query that finds
        # something pays no probe per word.
        match = to_fts5(query)
        ids = _candidates(queryset, document, match) if match is not None else []
        if not ids:
            query = with_typos(queryset, document, query)  # its close words are marked too
            match = to_fts5(query)
            ids = _candidates(queryset, document, match) if match is not None else []
        if not ids:
            return None
        queryset = queryset.filter(pk__in=ids)
    else:
        query = with_typos(queryset, document, query)
        match = to_fts5(query)
        if match is None:
            return None
    fts = _q(document.fts_table)
    model_table = _q(queryset.model._meta.db_table)
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
        queryset = queryset.annotate(search_snippet=passages(document, query))
    return queryset
