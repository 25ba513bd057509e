"""The outbox key is unique by a named constraint; the LIKE index `unique=True` added goes.

On PostgreSQL the existing unique constraint is renamed (a catalog change, no index rebuild) and
the LIKE index dropped CONCURRENTLY, outside a transaction, so notifications keep being written;
elsewhere Django's operations run as generated.
"""

from django.db import migrations, models

from core.migration_ops import (
    SqlOnPostgres,
    create_index_concurrently,
    drop_index_concurrently,
    rename_constraint,
)


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
                *drop_index_concurrently("core_outboxmessage_key_4285511e_like"),
                *rename_constraint(
                    "core_outboxmessage", "core_outboxmessage_key_key", "core_outbox_key_unique"
                ),
            ],
            backwards=[
                *rename_constraint(
                    "core_outboxmessage", "core_outbox_key_unique", "core_outboxmessage_key_key"
                ),
                *create_index_concurrently(
                    "core_outboxmessage_key_4285511e_like",
                    "core_outboxmessage",
                    '("key" varchar_pattern_ops)',
                ),
            ],
        ),
    ]
