from django.db import migrations

from core.search.operations import SetSearchStatistics


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0025_privacy_encrypted_contacts"),
    ]

    operations = [
        SetSearchStatistics("support_ticket"),
    ]
