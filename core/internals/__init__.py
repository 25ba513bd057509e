"""Every use of a private Django API, each behind one small module with a contract test.

Django does not promise these across releases. Each module here states what it relies on, and
`tests/core/test_internals.py` checks exactly that, so a Django upgrade that changes one fails
there by name instead of somewhere downstream:

- `insert`: `QuerySet._insert` with `OnConflict.IGNORE` and `returning_fields`, for one
  `INSERT ... ON CONFLICT DO NOTHING RETURNING` per outbox write (no savepoint pair);
- `bulk_insert`: one `INSERT ... SELECT FROM unnest(...)` of many rows in binary, through the
  connection's own cursor wrapper (`make_cursor`, `wrap_database_errors`, ...) and
  `Model._prepare_related_fields_for_save`: a quarter of `bulk_create`'s cost per row for the
  outbox rows, audit events and escalations a monitor batch writes (`insert_columns` takes the
  rows column by column, as the outbox's tuples come);
- `on_commit`: the connection's list of pending commit callbacks (`run_on_commit`), to batch
  one publish per transaction and notice when a rolled-back savepoint dropped it;
- `sql`: `QuerySet.query.sql_with_params()`, to wrap the ORM's own query for a range in one the
  ORM cannot write (GROUPING SETS);
- `rows`: `connection.ops.get_db_converters`, `Field.get_db_converters` and `Model.from_db`,
  to turn a hand-written query's row back into a model instance as the ORM would; and
  `ModelState`, `Field.set_cached_value` and the fields' `attname`s, to build a new instance
  without `Model.__init__` (`new_instance`, for the audit events and escalations of a sweep;
  compared with the constructor in `tests/core/test_audit.py`).

Written against Django 5.2; the contract test names the version it last passed on.
"""
