"""Migration operations shared by the apps' migrations."""

from django.db import migrations


class SqlOnPostgres(migrations.SeparateDatabaseAndState):
    """The state changes of `operations`; on PostgreSQL the given SQL instead of their DDL."""

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
