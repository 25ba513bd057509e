"""Writing changed fields of many rows in one statement.

`QuerySet.bulk_update` writes a `CASE WHEN id = ... THEN ...` per field, which both Django
(building one expression per row and field) and PostgreSQL (scanning the cases of every row) pay
for quadratically: 18 s for 1,000 escalated tickets whose raised priority changed ~20 fields.
On PostgreSQL `update_rows` joins the rows as arrays instead (`UPDATE ... FROM unnest(...)`),
which is linear, sent in binary as `core.internals.bulk_insert` sends its INSERT; other databases
keep `bulk_update`.
"""

from django.db import connection

from core.internals import bulk_insert

CHUNK = 500


def update_rows(model, objs: list, names: list[str]) -> None:
    """`UPDATE <table> SET f = v.f ... FROM unnest(pks, f ...) v WHERE pk = v.pk`, for the
    fields `names` of `objs` (saved instances of `model`), in chunks of 500 rows.

    Values go through each field's own `get_db_prep_save` (skipped for values the driver takes
    as they are), and are cast to the column's type; a field with the same value in every row
    is one parameter. No signals, no `auto_now`: set such fields on the objects first.
    """
    for start in range(0, len(objs), CHUNK):
        _update_chunk(model, objs[start : start + CHUNK], names)


def _update_chunk(model, objs: list, names: list[str]) -> None:
    if not objs:
        return
    if connection.vendor != "postgresql":
        model._base_manager.bulk_update(objs, names)
        return
    if bulk_insert._server_binding_cursor() is None:
        _update_chunk_values(model, objs, names)
        return
    meta = model._meta
    qn = connection.ops.quote_name
    pk = meta.pk
    assignments, scalars, arrays, unnested = [], [], [], []
    for field in [pk, *(meta.get_field(name) for name in names)]:
        db_type = bulk_insert.unnest_type(field, connection)
        values = bulk_insert.db_values(
            field, [getattr(obj, field.attname) for obj in objs], connection
        )
        first = values[0]
        if field is not pk and (
            all(v is None for v in values)
            or (
                field.get_internal_type() != "JSONField"
                and all(type(v) is type(first) and v == first for v in values)
            )
        ):
            assignments.append(f"{qn(field.column)} = %b::{db_type}")
            scalars.append(first)
            continue
        name = qn(f"v{len(arrays)}")
        if field is not pk:
            assignments.append(f"{qn(field.column)} = v.{name}")
        unnested.append((f"%b::{db_type}[]", name))
        arrays.append(values)
    sql = (
        f"UPDATE {qn(meta.db_table)} AS t SET {', '.join(assignments)} "
        f"FROM unnest({', '.join(p for p, _ in unnested)})"
        f" AS v({', '.join(name for _, name in unnested)})"
        f" WHERE t.{qn(pk.column)} = v.{unnested[0][1]}"
    )
    bulk_insert.execute(connection, sql, [*scalars, *arrays])


def _update_chunk_values(model, objs: list, names: list[str]) -> None:
    """psycopg 2: `UPDATE ... FROM (VALUES (pk, f ...), ...)`, bound on the client."""
    meta = model._meta
    fields = [meta.pk, *(meta.get_field(name) for name in names)]
    qn = connection.ops.quote_name
    row = "(" + ", ".join(f"%s::{field.db_type(connection)}" for field in fields) + ")"
    params = [
        field.get_db_prep_save(getattr(obj, field.attname), connection)
        for obj in objs
        for field in fields
    ]
    columns = ", ".join(qn(field.column) for field in fields)
    assignments = ", ".join(f"{qn(f.column)} = v.{qn(f.column)}" for f in fields[1:])
    pk = qn(meta.pk.column)
    sql = (
        f"UPDATE {qn(meta.db_table)} AS t SET {assignments} "
        f"FROM (VALUES {', '.join([row] * len(objs))}) AS v({columns}) "
        f"WHERE t.{pk} = v.{pk}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
