"""Ticket indexes that lookups use, and none that nothing uses.

* Numbers and customer addresses are looked up exactly (stored upper- and lower-case), so the
  number keeps one unique index (the LIKE index `unique=True` adds goes) and the address gets one.
* Foreign keys that lead a composite index lose their single-column index.

On PostgreSQL this is done with index statements run CONCURRENTLY, outside a transaction, so
tickets stay readable and writable throughout: Django's own AlterField would drop and re-add each
foreign-key constraint, re-checking every row of the ticket table under an exclusive lock. The
constraint rename is a catalog change (a brief lock, no scan). Elsewhere (SQLite) Django's
operations run as generated.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from core.migration_ops import (
    SqlOnPostgres,
    create_index_concurrently,
    drop_index_concurrently,
    rename_constraint,
)


TICKETS = "support_ticket"
POSTGRES_FORWARDS = [
    *drop_index_concurrently("support_ticket_assigned_to_id_684c13df"),
    *drop_index_concurrently("support_ticket_customer_id_21b0e471"),
    *drop_index_concurrently("support_ticket_organization_id_d1572ed7"),
    *drop_index_concurrently("support_ticket_team_id_4dd6e492"),
    *drop_index_concurrently("support_ticket_number_7113367e_like"),
    *rename_constraint(TICKETS, "support_ticket_number_key", "support_tkt_number_unique"),
    *create_index_concurrently("support_tkt_customer_email", TICKETS, '("customer_email")'),
]
POSTGRES_BACKWARDS = [
    *drop_index_concurrently("support_tkt_customer_email"),
    *rename_constraint(TICKETS, "support_tkt_number_unique", "support_ticket_number_key"),
    *create_index_concurrently(
        "support_ticket_number_7113367e_like", TICKETS, '("number" varchar_pattern_ops)'
    ),
    *create_index_concurrently("support_ticket_team_id_4dd6e492", TICKETS, '("team_id")'),
    *create_index_concurrently(
        "support_ticket_organization_id_d1572ed7", TICKETS, '("organization_id")'
    ),
    *create_index_concurrently("support_ticket_customer_id_21b0e471", TICKETS, '("customer_id")'),
    *create_index_concurrently(
        "support_ticket_assigned_to_id_684c13df", TICKETS, '("assigned_to_id")'
    ),
]


class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("core", "0003_numbering_function"),
        ("support", "0006_ticket_fillfactor"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        SqlOnPostgres(
            operations=[
                migrations.AlterField(
                    model_name="ticket",
                    name="assigned_to",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="assigned_tickets",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="customer",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="tickets",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="customer_email",
                    field=models.EmailField(
                        help_text="Where replies go; the customer's address, stored lower-case.",
                        max_length=254,
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="number",
                    field=models.CharField(editable=False, max_length=32),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="organization",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="tickets",
                        to="core.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="team",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="tickets",
                        to="support.team",
                    ),
                ),
                migrations.AddIndex(
                    model_name="ticket",
                    index=models.Index(
                        fields=["customer_email"], name="support_tkt_customer_email"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="ticket",
                    constraint=models.UniqueConstraint(
                        fields=("number",), name="support_tkt_number_unique"
                    ),
                ),
            ],
            forwards=POSTGRES_FORWARDS,
            backwards=POSTGRES_BACKWARDS,
        ),
    ]
