"""The outbox key is unique by a named constraint; the LIKE index `unique=True` added goes.

On PostgreSQL the existing unique constraint is renamed (a catalog change, no index rebuild) and
the LIKE index dropped CONCURRENTLY, outside a transaction, so notifications keep being written;
elsewhere Django's operations run as generated.
"""

from django.db import migrations, models

from core.migration_ops import SqlOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("core", "0003_numbering_function"),
    ]

    operations = [
        SqlOnPostgres(
            operations=[
                migrations.AlterField(
                    model_name="outboxmessage",
                    name="key",
                    field=models.CharField(max_length=200),
                ),
                migrations.AddConstraint(
                    model_name="outboxmessage",
                    constraint=models.UniqueConstraint(
                        fields=("key",), name="core_outbox_key_unique"
                    ),
                ),
            ],
            forwards=[
                'DROP INDEX CONCURRENTLY IF EXISTS "core_outboxmessage_key_4285511e_like"',
                'ALTER TABLE "core_outboxmessage" RENAME CONSTRAINT "core_outboxmessage_key_key" '
                'TO "core_outbox_key_unique"',
            ],
            backwards=[
                'ALTER TABLE "core_outboxmessage" RENAME CONSTRAINT "core_outbox_key_unique" '
                'TO "core_outboxmessage_key_key"',
                'CREATE INDEX CONCURRENTLY "core_outboxmessage_key_4285511e_like" ON "core_outboxmessage" '
                '("key" varchar_pattern_ops)',
            ],
        ),
    ]
