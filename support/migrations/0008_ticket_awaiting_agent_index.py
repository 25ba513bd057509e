"""The assignment sweep's partial index: waiting tickets of each team, oldest first.

Built CONCURRENTLY on PostgreSQL (tickets stay writable while it builds); Django's AddIndex
elsewhere.
"""

from django.conf import settings
from django.db import migrations, models

from core.migration_ops import (
    SqlOnPostgres,
    create_index_concurrently,
    drop_index_concurrently,
)


class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("core", "0003_numbering_function"),
        ("support", "0007_ticket_indexes_for_lookups"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        SqlOnPostgres(
            operations=[
                migrations.AddIndex(
                    model_name="ticket",
                    index=models.Index(
                        condition=models.Q(
                            ("assigned_to__isnull", True),
                            ("status", "open"),
                            ("team__isnull", False),
                        ),
                        fields=["team", "created_at"],
                        name="support_tkt_awaiting_agent",
                    ),
                ),
            ],
            forwards=create_index_concurrently(
                "support_tkt_awaiting_agent",
                "support_ticket",
                '("team_id", "created_at") WHERE ("assigned_to_id" IS NULL '
                'AND "status" = \'open\' AND "team_id" IS NOT NULL)',
            ),
            backwards=drop_index_concurrently("support_tkt_awaiting_agent"),
        ),
    ]
