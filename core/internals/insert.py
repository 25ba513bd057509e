"""`INSERT ... ON CONFLICT DO NOTHING RETURNING <columns>` through the ORM's private `_insert`.

`bulk_create(ignore_conflicts=True)` is the public way, but it returns no ids on a conflict-
ignoring insert, so every outbox write would need a second query to find its row (one more
statement on every ticket creation). `_insert` returns the requested columns of exactly the
rows inserted, in one statement, with the fields' own value preparation.
"""

from django.db.models.constants import OnConflict


def insert_ignoring_conflicts(model, objs: list, *, fields: list, returning: list) -> list:
    """Insert `objs`; rows clashing with a unique constraint are skipped.

    Returns one tuple of `returning` values per row inserted (skipped rows are absent or None,
    depending on the database); nothing is written back to `objs`.
    """
    rows = model._base_manager._insert(
        objs, fields=fields, returning_fields=returning, on_conflict=OnConflict.IGNORE
    )
    return [row for row in rows or [] if row is not None]
