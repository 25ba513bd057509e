"""Migration operations shared by the apps' migrations.

The SQL helpers give statements that can run again after a migration stopped half-way: a
migration with `atomic = False` (needed for CONCURRENTLY) commits statement by statement, so a
failed or cancelled run leaves the ones before it applied, and an index build that failed leaves
an INVALID index behind.
"""

from django.db import migrations


def create_index_concurrently(name: str, table: str, definition: str) -> list[str]:
    """Build an index without blocking writes; an INVALID leftover of a failed build goes first."""
    return [
        f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"',
        f'CREATE INDEX CONCURRENTLY "{name}" ON "{table}" {definition}',
    ]


def drop_index_concurrently(name: str) -> list[str]:
    return [f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"']


def rename_constraint(table: str, old: str, new: str) -> list[str]:
    """Rename a constraint if it still has its old name (a catalog change: no scan)."""
    return [
        "DO $$ BEGIN "
        f"IF EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '{old}' "
        f"AND conrelid = '\"{table}\"'::regclass) THEN "
        f'ALTER TABLE "{table}" RENAME CONSTRAINT "{old}" TO "{new}"; '
        "END IF; END $$"
    ]


class SqlOnPostgres(migrations.SeparateDatabaseAndState):
    """The state changes of `operations`; on PostgreSQL the given SQL instead of their DDL.

    A migration whose SQL uses CONCURRENTLY must set `atomic = False` (and keep it if it is ever
    squashed: `squashmigrations` does not carry it over).
    """

    def __init__(self, operations, forwards, backwards):
        super().__init__(database_operations=operations, state_operations=operations)
        self.forwards, self.backwards = forwards, backwards

    def deconstruct(self):
        kwargs = {
            "operations": self.state_operations,
            "forwards": self.forwards,
            "backwards": self.backwards,
        }
        return self.__class__.__qualname__, [], kwargs

    def describe(self):
        return "SQL on PostgreSQL, Django's operations elsewhere: " + "; ".join(
            operation.describe() for operation in self.state_operations
        )

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        for sql in self.forwards:
            schema_editor.execute(sql)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        for sql in self.backwards:
            schema_editor.execute(sql)
