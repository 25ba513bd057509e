"""PostgreSQL: a stored, weighted tsvector computed by a trigger, a GIN index, ts_rank, snippets
cut in Python (`snippets.build`), and pg_trgm word similarity for typos and partial words."""

import math
import re

from django.contrib.postgres.lookups import TrigramWordSimilar
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    TrigramWordSimilarity,
)
from django.db.models import (
    BooleanField,
    Case,
    Expression,
    F,
    FloatField,
    Func,
    Q,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Lower
from django.db.models.lookups import GreaterThanOrEqual

from core.migration_ops import create_index_concurrently, drop_index_concurrently

from .documents import Document
from .query import ParsedQuery
from .snippets import passages

# Rows whose fuzzy text has a stretch at least this similar to the query (pg_trgm's word
# similarity, its operator's default bar, checked again so a changed setting cannot widen it):
# one wrong or missing letter in a word of seven scores 0.67-0.8 ("Coyotte", "pasword"), a
# different word sharing letters 0.5 ("pointer" for "printer").
FUZZY_MIN_SIMILARITY = 0.6
FUZZY_MIN_LENGTH = 4
BACKFILL_BATCH = 5000


def _q(name: str) -> str:
    return f'"{name}"'


def vector_sql(document: Document, row: str) -> str:
    config = f"'pg_catalog.{document.config}'"
    return " || ".join(
        f"setweight(to_tsvector({config}, {f.on(row)}), '{f.weight}')" for f in document.fields
    )


def fuzzy_sql(document: Document) -> str:
    """The expression the trigram index is built on (the query uses the same one)."""
    return "(" + " || ' ' || ".join(_q(c) for c in document.fuzzy) + ")"


def _changed(columns, old="OLD", new="NEW") -> str:
    return " OR ".join(f"{old}.{_q(c)} IS DISTINCT FROM {new}.{_q(c)}" for c in columns)


def install_sql(document: Document) -> list[str]:
    """Trigger functions and triggers: CREATE OR REPLACE / DROP IF EXISTS, so it can run again."""
    table, vector = _q(document.table), _q(document.vector_column)
    watched = ", ".join(_q(c) for c in (*document.columns, document.vector_column))
    statements = [
        f"CREATE OR REPLACE FUNCTION {_q(document.function)}() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"NEW.{vector} := {vector_sql(document, 'NEW')}; "
        "RETURN NEW; END $$",
        f'DROP TRIGGER IF EXISTS "{document.table}_search_insert" ON {table}',
        f'CREATE TRIGGER "{document.table}_search_insert" BEFORE INSERT ON {table} '
        f"FOR EACH ROW EXECUTE FUNCTION {_q(document.function)}()",
        # Only a change of what the document reads recomputes it (a full `save()` writes every
        # column); setting the vector to NULL, or to anything, asks for a recomputation.
        f'DROP TRIGGER IF EXISTS "{document.table}_search_update" ON {table}',
        f'CREATE TRIGGER "{document.table}_search_update" BEFORE UPDATE OF {watched} ON {table} '
        f"FOR EACH ROW WHEN ({_changed(document.columns)} OR NEW.{vector} IS NULL "
        f"OR NEW.{vector} IS DISTINCT FROM OLD.{vector}) "
        f"EXECUTE FUNCTION {_q(document.function)}()",
    ]
    for related in document.related:
        function = _q(f"{document.function}_{related.table}")
        trigger = _q(f"{document.table}_search_{related.table}")
        statements += [
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            f"UPDATE {table} SET {vector} = NULL WHERE {_q(related.key)} = NEW.{_q(related.pk)}; "
            "RETURN NULL; END $$",
            f"DROP TRIGGER IF EXISTS {trigger} ON {_q(related.table)}",
            f"CREATE TRIGGER {trigger} AFTER UPDATE OF "
            f"{', '.join(_q(c) for c in related.columns)} ON {_q(related.table)} "
            f"FOR EACH ROW WHEN ({_changed(related.columns)}) EXECUTE FUNCTION {function}()",
        ]
    return statements


# The planner estimates a word it has no statistics for at half the rarest word it knows; at the
# default target (100) that is about 0.5 % of rows a word, so a question of four words no row has
# looked like 2 % of the table, and the bounded search's walk in prior order (which stops at the
# page of candidates) read all 100,000 articles to find none: 255 ms. With a target of 1000 the
# words it knows reach ten times further down, the estimate of an unknown one falls with them,
# and the GIN index is asked instead (0.1 ms). ANALYZE of the column takes 2 s at 100,000 rows.
STATISTICS_TARGET = 1000


def statistics_sql(table: str, vector_column: str, target: int = STATISTICS_TARGET) -> list[str]:
    """For a migration: the search vector's statistics target, then its statistics."""
    table, vector = _q(table), _q(vector_column)
    return [
        f"ALTER TABLE {table} ALTER COLUMN {vector} SET STATISTICS {int(target)}",
        f"ANALYZE {table} ({vector})",
    ]


# pg_trgm declares its functions at the default cost of one operator, so the planner asks them
# before any cheaper test beside them (it orders an AND's tests by cost): the prefilter
# (`_MayBeSimilar`) ran after the trigram test it exists to spare. Measured on titles: a word
# similarity is 4-6 µs, a LIKE 0.1-0.3 µs; priced at 50 operators they are asked last.
TRIGRAM_FUNCTIONS = (
    "similarity(text, text)",
    "similarity_op(text, text)",
    "word_similarity(text, text)",
    "word_similarity_op(text, text)",
    "word_similarity_commutator_op(text, text)",
)
TRIGRAM_FUNCTION_COST = 50


def price_trigram_functions(connection, cost: int = TRIGRAM_FUNCTION_COST) -> bool:
    """Give pg_trgm's similarity functions their real cost; False (and nothing changed) where
    the role may not alter them (the extension's objects belong to a superuser): searches are
    then as correct, only the typo branch slower."""
    from django.db import DatabaseError, transaction

    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            for function in TRIGRAM_FUNCTIONS:
                cursor.execute(f"ALTER FUNCTION {function} COST {int(cost)}")
    except DatabaseError:
        return False
    return True


def _valid_index_exists(cursor, name: str) -> bool:
    cursor.execute(
        "SELECT i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
        "WHERE c.relname = %s AND pg_catalog.pg_table_is_visible(c.oid)",
        [name],
    )
    row = cursor.fetchone()
    return bool(row and row[0])


def index_sql(document: Document, cursor) -> list[str]:
    """The GIN indexes, built without blocking writes; a valid index already there is kept (the
    vector index may predate the document), an INVALID leftover of a failed build is rebuilt."""
    wanted = [(document.vector_index, f"USING gin ({_q(document.vector_column)})")]
    if document.fuzzy:
        wanted.append((document.fuzzy_index, f"USING gin ({fuzzy_sql(document)} gin_trgm_ops)"))
    statements = []
    for name, definition in wanted:
        if not _valid_index_exists(cursor, name):
            statements += create_index_concurrently(name, document.table, definition)
    return statements


def uninstall_sql(document: Document) -> list[str]:
    table = _q(document.table)
    statements = []
    for related in document.related:
        statements += [
            f'DROP TRIGGER IF EXISTS "{document.table}_search_{related.table}" '
            f"ON {_q(related.table)}",
            f'DROP FUNCTION IF EXISTS "{document.function}_{related.table}"()',
        ]
    statements += [
        f'DROP TRIGGER IF EXISTS "{document.table}_search_update" ON {table}',
        f'DROP TRIGGER IF EXISTS "{document.table}_search_insert" ON {table}',
        f"DROP FUNCTION IF EXISTS {_q(document.function)}()",
    ]
    if document.fuzzy:
        statements += drop_index_concurrently(document.fuzzy_index)
    return statements


def backfill(document: Document, cursor) -> None:
    """Recompute every document in batches of ids, each committed on its own when the migration
    is not atomic: no long transaction, no lock held on the whole table, re-runnable."""
    table, pk = _q(document.table), _q(document.pk)
    cursor.execute(f"SELECT min({pk}), max({pk}) FROM {table}")
    low, high = cursor.fetchone()
    if low is None:
        return
    for start in range(low, high + 1, BACKFILL_BATCH):
        cursor.execute(
            f"UPDATE {table} SET {_q(document.vector_column)} = NULL "
            f"WHERE {pk} >= %s AND {pk} < %s",
            [start, start + BACKFILL_BATCH],
        )


class _MayBeSimilar(Expression):
    """A cheap test every row `word_similarity(words, text) >= FUZZY_MIN_SIMILARITY` holds for
    passes: `lower(text)` contains one of `substrings`, or `text` has a non-ASCII character.

    Asked before pg_trgm's own test, which builds the trigrams of every row it sees: a search
    in date order walks the newest rows until a page is full and asks every row the full text
    did not match (~4,800 rows for a keyword found in 0.5% of tickets, 6-12 µs each). It only
    skips rows that cannot be similar, so the result is the same (`fuzzy_substrings`).
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, text, substrings):
        super().__init__()
        self.text = text
        self.patterns = [f"%{s}%" for s in substrings]

    def get_source_expressions(self):
        return [self.text]

    def set_source_expressions(self, exprs):
        (self.text,) = exprs

    def as_sql(self, compiler, connection):
        lowered, params = compiler.compile(Lower(self.text))
        text, text_params = compiler.compile(self.text)
        sql = f"({lowered} LIKE ANY (%s::text[]) OR octet_length({text}) <> char_length({text}))"
        return sql, (*params, self.patterns, *text_params, *text_params)


_ASCII_WORDS = re.compile(r"[A-Za-z0-9 ]+")


def trigrams(words: str) -> frozenset[str]:
    """pg_trgm's trigrams of ASCII `words`: each alphanumeric word lower-cased and padded with
    two spaces in front and one behind ("  w", " we", "web", ..., "ok "), as `show_trgm` does."""
    out = set()
    for word in re.findall(r"[a-z0-9]+", words.lower()):
        padded = f"  {word} "
        out.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return frozenset(out)


def fuzzy_substrings(words: str) -> list[str] | None:
    """Substrings one of which every text word-similar to `words` contains; None if there is
    no such list for this input (then every row gets pg_trgm's test).

    pg_trgm's word similarity of `words` to a stretch of text is count / (n + m - count), with
    n the distinct trigrams of `words`, m those of the stretch and count those they share
    (count <= m), so it is at most count / n: reaching FUZZY_MIN_SIMILARITY needs at least
    `needed` = ceil(0.6 n) of the n trigrams in the text. Any n - needed + 1 of them therefore
    include one the text has, and a trigram the text has is a substring of the lower-cased text
    (its letters, padding removed). That holds for ASCII text; pg_trgm hashes a trigram with a
    multi-byte character to three bytes that could equal an ASCII trigram, so rows with any
    non-ASCII character are always passed on (`_MayBeSimilar`), and input that is not ASCII
    letters, digits and spaces gets no list. (It assumes a collation that lower-cases ASCII to
    ASCII, as every one but the Turkish and Azeri ones does.)
    """
    if not _ASCII_WORDS.fullmatch(words):
        return None
    grams = trigrams(words)
    if not grams:
        return None
    needed = math.ceil(FUZZY_MIN_SIMILARITY * len(grams) - 1e-6)
    # Whole three-letter trigrams first: they are the rarest substrings, so the test passes
    # fewest rows; padded ones ("  w", " we") become one or two letters.
    ordered = sorted(grams, key=lambda g: (g.count(" "), g))
    chosen = sorted({g.strip() for g in ordered[: len(grams) - needed + 1]}, key=len)
    # A substring that contains another chosen one adds nothing ("web" when "w" is there).
    kept = []
    for candidate in chosen:
        if not any(shorter in candidate for shorter in kept):
            kept.append(candidate)
    return sorted(kept)


class _AmongFirst(Expression):
    """`pk = ANY(ARRAY(subquery))`: PostgreSQL runs the bounded subquery once (an InitPlan) and
    fetches its rows by primary key. Written as `pk IN (subquery)` it is planned as a hashed
    scan of the whole table (measured: 137 ms against 2 ms at 100,000 articles)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, pk, subquery):
        super().__init__()
        self.pk, self.subquery = pk, subquery

    def get_source_expressions(self):
        return [self.pk, self.subquery]

    def set_source_expressions(self, exprs):
        self.pk, self.subquery = exprs

    def as_sql(self, compiler, connection):
        pk, pk_params = compiler.compile(self.pk)
        subquery, params = compiler.compile(self.subquery)
        return f"{pk} = ANY(ARRAY{subquery})", (*pk_params, *params)


def bounded(scoped, matching, document: Document):
    """The first `document.candidates` rows of `matching` in `document.prior` order, as rows
    of `scoped` (the queryset before the search's filter): what a bounded search ranks."""
    first = matching.order_by(*document.prior).values(document.pk)[: document.candidates]
    return scoped.filter(_AmongFirst(F("pk"), Subquery(first)))


class _Concatenated(Func):
    template = "(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = TextField()


def _tsquery(document: Document, query: ParsedQuery):
    config = document.config
    if not query.prefix:
        return SearchQuery(query.raw, search_type="websearch", config=config)
    prefix = SearchQuery(f"{query.prefix}:*", search_type="raw", config=config)
    if not query.head.strip():
        return prefix
    return SearchQuery(query.head, search_type="websearch", config=config) & prefix


def search(queryset, document: Document, query: ParsedQuery, *, snippets: bool, rank: bool = True):
    """The matching rows, annotated; None if nothing can match.

    Without `rank` no `search_rank` is computed: a list kept in its own order (the desk queue)
    would otherwise pay a `ts_rank` for every match before its sort, not only for the page.
    """
    tsquery = _tsquery(document, query)
    scoped = queryset
    hit = Q(**{document.vector_column: tsquery})
    relevance = SearchRank(F(document.vector_column), tsquery, normalization=Value(32))
    words = " ".join(t.text for group in query.groups for t in group)
    # Typo tolerance for plain words only: quotes and exclusions ask for exactly what they say.
    plain = not query.excluded and not any(t.phrase for group in query.groups for t in group)
    fuzzy = None
    if document.fuzzy and plain and len(words) >= FUZZY_MIN_LENGTH:
        text = _Concatenated(*[F(c) for c in document.fuzzy])
        similarity = TrigramWordSimilarity(words, text)
        fuzzy = Q(TrigramWordSimilar(text, words)) & Q(
            GreaterThanOrEqual(similarity, FUZZY_MIN_SIMILARITY)
        )
        substrings = fuzzy_substrings(words)
        if substrings:
            # Asked first where pg_trgm's functions are priced (`price_trigram_functions`).
            fuzzy = Q(_MayBeSimilar(text, substrings)) & fuzzy
        # Full-text hits first, by relevance; then rows found only through a typo.
        rank_expression = Case(
            When(hit, then=relevance + Value(1.0)), default=similarity, output_field=FloatField()
        )
    else:
        rank_expression = relevance
    boosted = (Value(1.0) + Cast(F(document.boost), FloatField())) if document.boost else None
    if rank and document.candidates:
        # Bounded: the exact matches' first candidates (one statement, run now: its ids are
        # fetched by primary key below). Typos count only when nothing matched exactly, as on
        # SQLite: the trigram test of every row walked would cost more than the rest together
        # (6 µs a row, 15 ms for two common words).
        first = queryset.filter(hit).order_by(*document.prior)
        ids = list(first.values_list(document.pk, flat=True)[: document.candidates])
        if ids:
            queryset = scoped.filter(pk__in=ids)
            # Every candidate matched exactly: no row needs the CASE's similarity.
            rank_expression = relevance
        elif fuzzy is not None:
            queryset = bounded(scoped, queryset.filter(fuzzy), document)
            # And none did: no row needs its vector read again.
            rank_expression = similarity
        else:
            return None
        if boosted is not None:
            rank_expression = rank_expression * boosted
    else:
        queryset = queryset.filter(hit if fuzzy is None else hit | fuzzy)
        if boosted is not None:
            rank_expression = rank_expression * boosted
    if rank:
        queryset = queryset.annotate(search_rank=rank_expression)
    if snippets and document.snippet:
        queryset = queryset.annotate(search_snippet=passages(document, query))
    return queryset
