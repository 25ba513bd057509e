"""One INSERT of many rows, written here instead of by `bulk_create`, on PostgreSQL.

`bulk_create` compiles every value of every row through the ORM, and psycopg's client-side
binding (Django's default) escapes the UNNEST arrays it sends element by element in Python:
two thirds of the SLA monitor's cost per outbox row and audit event. `insert_rows` writes the
same `INSERT ... SELECT FROM unnest(...)` itself: a column with one value for every row is one
parameter, the others one array each, sent in binary with server-side binding (unprepared),
through Django's cursor wrapper, so statement counters and execute hooks see it as before.

Relies on (checked by `tests/core/test_internals.py`): `Model._prepare_related_fields_for_save`
(refuses unsaved related objects, as `bulk_create` does), the connection's
`close_if_health_check_failed`, `ensure_connection`, `validate_thread_sharing`,
`wrap_database_errors`, `make_cursor` / `make_debug_cursor` and `queries_logged`, and
`django.db.backends.postgresql.psycopg_any.is_psycopg3`; and on PostgreSQL returning the rows of
`INSERT ... SELECT FROM unnest(...)` in the order given, as Django 5.2's own `bulk_create` does.
"""

import functools
import json
from datetime import datetime

from django.db import connections, router
from django.db.models import NOT_PROVIDED, Field

# Values of these column types go to the database as they are when they are exactly of this
# Python type (aware, for datetimes); anything else through the field's `get_db_prep_save`.
_PLAIN = {
    "CharField": str,
    "TextField": str,
    "ForeignKey": int,
    "BooleanField": bool,
    "PositiveSmallIntegerField": int,
    "PositiveIntegerField": int,
    "IntegerField": int,
    "AutoField": int,
    "BigAutoField": int,
    "FloatField": float,
    "DateTimeField": datetime,
}


@functools.cache
def _server_binding_cursor():
    """A psycopg 3 cursor class binding on the server, never preparing; None without psycopg 3."""
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if not is_psycopg3:
        return None
    import psycopg

    class Cursor(psycopg.Cursor):
        # Never a named prepared statement (a pooler in transaction mode would lose it).
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=False, binary=binary)

    return Cursor


def create_rows(model, objs: list, *, chunk: int = 500) -> None:
    """`bulk_create(objs, batch_size=chunk)`, through `insert_rows` where it can."""
    if not can_insert_rows(model) or any(obj.pk is not None for obj in objs):
        model._default_manager.bulk_create(objs, batch_size=chunk)
        return
    for start in range(0, len(objs), chunk):
        insert_rows(model, objs[start : start + chunk])


def can_insert_rows(model) -> bool:
    """Whether `insert_rows` can write `model`: PostgreSQL with psycopg 3, and a model whose
    rows `bulk_create` would write plainly (a database-generated primary key, no parent
    model, no database defaults or generated columns); else use `bulk_create`."""
    connection = connections[router.db_for_write(model)]
    return (
        connection.vendor == "postgresql"
        and _server_binding_cursor() is not None
        and _plain_model(model)
    )


@functools.cache
def _plain_model(model) -> bool:
    meta = model._meta
    return (
        getattr(meta.pk, "db_returning", False)
        and not meta.parents
        and not any(
            getattr(f, "generated", False) or f.db_default is not NOT_PROVIDED
            for f in meta.concrete_fields
        )
    )


@functools.cache
def _columns(model) -> list:
    """(field, its unnest type, whether it is JSON, its pre_save or None) of every column but
    the primary key."""
    connection = connections[router.db_for_write(model)]
    return [
        (
            f,
            unnest_type(f, connection),
            f.get_internal_type() == "JSONField",
            f.pre_save if type(f).pre_save is not Field.pre_save else None,
        )
        for f in model._meta.concrete_fields
        if not f.primary_key
    ]


_JSON_PLAIN = (dict, list, str, int, float, bool)


def json_texts(field, values: list) -> list | None:
    """The JSON text of each of `values` (None stays SQL NULL), as `field.get_db_prep_save`
    would have the driver send it (`json.dumps` with the field's encoder); None when a value
    is not plain data (an expression, a lazy string ...), which only the field can prepare."""
    dumps = functools.partial(json.dumps, cls=field.encoder) if field.encoder else json.dumps
    flat = field.encoder is None
    texts = []
    for value in values:
        if value is None:
            texts.append(None)
        elif flat and type(value) is dict and _flat_strings(value):
            # What `json.dumps` writes for it, without building an encoder per value.
            texts.append(
                "{" + ", ".join([f"{_string(k)}: {_string(v)}" for k, v in value.items()]) + "}"
            )
        elif type(value) in _JSON_PLAIN:
            texts.append(dumps(value))
        else:
            return None
    return texts


_string = json.encoder.encode_basestring_ascii  # json.dumps's own (ensure_ascii)


def _flat_strings(value: dict) -> bool:
    return all(type(k) is str and type(v) is str for k, v in value.items())


def unnest_type(field, connection) -> str:
    """The type of `field`'s column without its modifiers (`varchar`, not `varchar(255)`), as
    the element type of an array parameter."""
    return field.db_type(connection).split("(")[0]


def db_values(column, values: list, connection) -> list:
    """`column.get_db_prep_save` of each of `values`, skipped for values the driver takes as
    they are (a str for a text column, an aware datetime ...). A field class of the project's
    own (an encrypted text, `core.crypto`) always prepares its values: its column type says
    nothing of what it writes."""
    stock = type(column).__module__.startswith("django.")
    plain = _PLAIN.get(column.get_internal_type()) if stock else None
    if plain is None:
        return [column.get_db_prep_save(value, connection) for value in values]
    prep = column.get_db_prep_save
    return [
        value
        if value is None
        or (type(value) is plain and (plain is not datetime or value.tzinfo is not None))
        else prep(value, connection)
        for value in values
    ]


def execute(connection, sql: str, params: list, *, fetch: bool = False) -> list | None:
    """Run `sql` (binary `%b` parameters) on `connection` through a server-binding cursor
    (`_server_binding_cursor`, which must not be None) wrapped as Django wraps its own, so
    statement counters, execute hooks and error wrapping see it. Returns the rows as tuples
    with `fetch`, else None."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw = _server_binding_cursor()(connection.connection)
    wrap = connection.make_debug_cursor if connection.queries_logged else connection.make_cursor
    with wrap(raw) as cursor:
        cursor.execute(sql, params)
        if fetch:
            return [tuple(row) for row in cursor.fetchall()]
    return None


def insert_rows(model, objs: list, *, ignore_conflicts: bool = False, returning=("pk",)) -> list:
    """One INSERT of `objs` (new instances of `model` without a primary key, at most a few
    thousand; `can_insert_rows` must hold): every concrete column but the primary key,
    `pre_save` run as `bulk_create` runs it (`auto_now`). Returns a tuple of the `returning`
    fields' values per row inserted.

    Without `ignore_conflicts` each object gets its primary key and is marked saved, as
    `bulk_create` does (related objects saved since they were assigned are picked up, unsaved
    ones refused). With it, rows clashing with a unique constraint are skipped; nothing is
    written back (match the returned rows by a unique field).
    """
    if not objs:
        return []
    connection = connections[router.db_for_write(model)]
    if not ignore_conflicts:
        for obj in objs:
            obj._prepare_related_fields_for_save(operation_name="bulk_create")
    columns = {}
    for column, _, is_json, pre_save in _columns(model):
        if pre_save is None:
            values = [getattr(obj, column.attname) for obj in objs]
        else:
            values = [pre_save(obj, True) for obj in objs]
        texts = json_texts(column, values) if is_json else None
        if texts is None:
            columns[column.attname] = db_values(column, values, connection)
        else:
            columns[column.attname] = Json(texts)
    rows = insert_columns(model, columns, ignore_conflicts=ignore_conflicts, returning=returning)
    if not ignore_conflicts:
        # As `bulk_create` on PostgreSQL: the rows come back in the order they were given.
        pk_index = returning.index("pk") if "pk" in returning else None
        for obj, row in zip(objs, rows, strict=True):
            if pk_index is not None:
                obj.pk = row[pk_index]
            obj._state.adding = False
            obj._state.db = connection.alias
    return rows


class Same:
    """A column's one value for every row of `insert_columns` (sent once, not as an array)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class Json(list):
    """A JSON column's values for `insert_columns`, each already its JSON text (or None)."""


def insert_columns(
    model, columns: dict, *, ignore_conflicts: bool = False, returning=("pk",)
) -> list:
    """One `INSERT ... SELECT FROM unnest(...)` of rows given column by column: `columns` maps
    the attname of each concrete column but the primary key to its values: a list with one
    value per row (every list as long), `Same(value)` for one value in every row, or `Json` (a
    list of JSON texts, `json_texts`) for a JSON column. Values must be what the driver takes
    as they are (`db_values` of the field's values). Nothing runs per row in Python here but
    the comparison that sends a list of equal values as one parameter, and the driver's
    dumping of the arrays. Returns a tuple of the `returning` fields' values per row inserted,
    in the order given (less any `ignore_conflicts` skipped). `can_insert_rows(model)` must hold.
    """
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    qn = connection.ops.quote_name
    names, selected, scalars, arrays, unnested = [], [], [], [], []
    for column, db_type, is_json, _ in _columns(model):
        values = columns[column.attname]
        names.append(qn(column.column))
        cast = ""
        if is_json and isinstance(values, Json):
            db_type, cast = "text", "::jsonb"
        if isinstance(values, Same):
            selected.append(f"%b::{db_type}{cast}")
            scalars.append(values.value)
            continue
        first = values[0]
        # A JSON value is compared as its text only (1 == True, {} == {} of another encoder).
        if (cast or not is_json) and all(type(v) is type(first) and v == first for v in values):
            selected.append(f"%b::{db_type}{cast}")
            scalars.append(first)
        else:
            name = qn(f"v{len(arrays)}")
            selected.append(f"v.{name}{cast}")
            unnested.append((f"%b::{db_type}[]", name))
            arrays.append(list(values))
    source = ""
    if unnested:
        source = (
            f" FROM unnest({', '.join(p for p, _ in unnested)})"
            f" AS v({', '.join(name for _, name in unnested)})"
        )
    returned = [meta.pk if name == "pk" else meta.get_field(name) for name in returning]
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(names)}) SELECT {', '.join(selected)}"
        f"{source}{' ON CONFLICT DO NOTHING' if ignore_conflicts else ''}"
        f" RETURNING {', '.join(qn(f.column) for f in returned)}"
    )
    return execute(connection, sql, [*scalars, *arrays], fetch=True)
