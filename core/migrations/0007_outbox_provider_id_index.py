"""Tracking events find their outbox row by the ESP's message id.

Built CONCURRENTLY on PostgreSQL (the outbox stays writable while it builds); Django's AddIndex
elsewhere.
"""

from django.db import migrations, models

from core.migration_ops import (
    SqlOnPostgres,
    create_index_concurrently,
    drop_index_concurrently,
)


class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY cannot run inside a transaction

    dependencies = [("core", "0006_email_delivery_tracking_and_consent")]

    operations = [
        SqlOnPostgres(
            operations=[
                migrations.AddIndex(
                    model_name="outboxmessage",
                    index=models.Index(
                        condition=models.Q(("provider_message_id", ""), _negated=True),
                        fields=["provider_message_id"],
                        name="core_outbox_provider_id",
                    ),
                ),
            ],
            forwards=create_index_concurrently(
                "core_outbox_provider_id",
                "core_outboxmessage",
                '("provider_message_id") WHERE NOT ("provider_message_id" = \'\')',
            ),
            backwards=drop_index_concurrently("core_outbox_provider_id"),
        ),
    ]
