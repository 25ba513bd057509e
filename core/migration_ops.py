"""Migration operations shared by the apps' migrations."""

from django.db import migrations


class SqlOnPostgres(migrations.SeparateDatabaseAndState):
    """The state changes of `operations`; on PostgreSQL the given SQL instead of their DDL."""

    def __init__(self, operations, forwards, backwards):
        super().__init__(database_operations=operations, state_operations=operations)
        self.forwards, self.backwards = forwards, backwards

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
