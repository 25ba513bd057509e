from django.db import migrations

from core.search.operations import SetSearchStatistics


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0005_price_trigram_functions"),
    ]

    operations = [
        SetSearchStatistics("knowledge_article"),
    ]
