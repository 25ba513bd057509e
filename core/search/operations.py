"""The migration operation that installs a search document on whichever database runs it."""

from django.db import migrations

from . import postgres, sqlite
from .documents import Document


class InstallSearchDocument(migrations.operations.base.Operation):
    """Install `document`: on PostgreSQL its trigger functions, triggers, a batched backfill and
    its GIN indexes (CONCURRENTLY: the migration must set `atomic = False`); on SQLite its FTS5
    table, triggers and content. Every step can run again after a stop half-way.

    The document is passed in by the migration, frozen there, so a later change of the live
    declaration needs a migration of its own. Backwards removes what it installed (the stored
    vector column itself belongs to the model).
    """

    reversible = True
    reduces_to_sql = False

    def __init__(self, document: Document):
        self.document = document

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            for statement in postgres.install_sql(self.document):
                schema_editor.execute(statement)
            with schema_editor.connection.cursor() as cursor:
                postgres.backfill(self.document, cursor)
                for statement in postgres.index_sql(self.document, cursor):
                    schema_editor.execute(statement)
        elif vendor == "sqlite":
            for statement in sqlite.install_sql(self.document) + sqlite.backfill_sql(self.document):
                schema_editor.execute(statement)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        vendor = schema_editor.connection.vendor
        module = {"postgresql": postgres, "sqlite": sqlite}.get(vendor)
        if module:
            for statement in module.uninstall_sql(self.document):
                schema_editor.execute(statement)

    def describe(self):
        return f"Install the search document of {self.document.table}"

    def deconstruct(self):
        return self.__class__.__qualname__, [self.document], {}


class SetSearchStatistics(migrations.operations.base.Operation):
    """On PostgreSQL, the search vector's statistics target (`postgres.STATISTICS_TARGET`) and
    fresh statistics for it; nothing elsewhere. Backwards returns the column to the default."""

    reversible = True
    reduces_to_sql = False

    def __init__(self, table: str, vector_column: str = "search_document"):
        self.table, self.vector_column = table, vector_column

    def state_forwards(self, app_label, state):
        pass

    def _run(self, schema_editor, target):
        if schema_editor.connection.vendor == "postgresql":
            for statement in postgres.statistics_sql(self.table, self.vector_column, target):
                schema_editor.execute(statement)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._run(schema_editor, postgres.STATISTICS_TARGET)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._run(schema_editor, -1)  # -1: the server's default target

    def describe(self):
        return f"Set the search statistics of {self.table}.{self.vector_column}"

    def deconstruct(self):
        return self.__class__.__name__, [self.table, self.vector_column], {}
