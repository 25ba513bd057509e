from django.db import migrations, models
from django.db.migrations.writer import MigrationWriter

from core.migration_ops import SqlOnPostgres


def test_the_operation_survives_being_written_out_again():
    """squashmigrations and makemigrations re-serialise operations from `deconstruct`."""
    operation = SqlOnPostgres(
        operations=[
            migrations.AddIndex(
                model_name="ticket", index=models.Index(fields=["subject"], name="subject_idx")
            )
        ],
        forwards=['CREATE INDEX CONCURRENTLY "subject_idx" ON "support_ticket" ("subject")'],
        backwards=['DROP INDEX CONCURRENTLY IF EXISTS "subject_idx"'],
    )
    name, args, kwargs = operation.deconstruct()
    rebuilt = SqlOnPostgres(*args, **kwargs)
    assert rebuilt.forwards == operation.forwards and rebuilt.backwards == operation.backwards
    assert rebuilt.state_operations == operation.state_operations
    assert "Create index subject_idx" in operation.describe()
    text, imports = MigrationWriter.serialize(operation)
    assert "forwards=" in text and "CONCURRENTLY" in text
