# A metadata column on the audit events (core.models.audit.AuditEvent). On PostgreSQL 11+ adding a
# column with a constant default rewrites nothing, so this is instant on a big table.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0009_ticket_search_everywhere"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticketevent",
            name="metadata",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="Context of the change: source, request id, job.",
            ),
        ),
    ]
