"""SQLite (embedded mode): an FTS5 table with a row per document, kept in step by triggers on the
document's table and the related tables; bm25 with the same column weights, snippet()."""

from django.db.models import FloatField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from .documents import WEIGHTS, Document
from .query import ParsedQuery, to_fts5
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


def search(queryset, document: Document, query: ParsedQuery, *, snippets: bool, rank: bool = True):
    """The matching rows, annotated; None if nothing can match."""
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
        snippet = RawSQL(
            f"snippet({fts}, {document.snippet_position()}, %s, %s, '…', 24)",
            [START, STOP],
            output_field=SnippetField(),
        )
        queryset = queryset.annotate(search_snippet=snippet)
    return queryset
