# The subscriber's address encrypted at rest (core.crypto), found through a keyed hash (issue 22).

import core.crypto
from django.db import migrations, models


def encrypt_addresses(apps, schema_editor):
    Subscriber = apps.get_model("incidents", "StatusSubscriber")
    for row in Subscriber.objects.all().iterator():
        plain = core.crypto.decrypt(row.email)
        Subscriber.objects.filter(pk=row.pk).update(
            email=core.crypto.rotate(plain), email_hash=core.crypto.keyed_hash(plain)
        )


def decrypt_addresses(apps, schema_editor):
    Subscriber = apps.get_model("incidents", "StatusSubscriber")
    for row in Subscriber.objects.all().iterator():
        Subscriber.objects.filter(pk=row.pk).update(email=core.crypto.decrypt(row.email))


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0004_maintenance_updates"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="statussubscriber",
            name="incidents_confirmed_subscriber",
        ),
        migrations.AddField(
            model_name="statussubscriber",
            name="email_hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="statussubscriber",
            name="email",
            field=models.TextField(help_text="Lower-cased."),
        ),
        migrations.RunPython(encrypt_addresses, decrypt_addresses),
        migrations.AlterField(
            model_name="statussubscriber",
            name="email",
            field=core.crypto.EncryptedCharField(help_text="Lower-cased.", max_length=254),
        ),
        migrations.AlterField(
            model_name="statussubscriber",
            name="email_hash",
            field=models.CharField(editable=False, max_length=64, unique=True),
        ),
        migrations.AddIndex(
            model_name="statussubscriber",
            index=models.Index(
                condition=models.Q(("confirmed_at__isnull", False)),
                fields=["email_hash"],
                name="incidents_confirmed_subscriber",
            ),
        ),
    ]
