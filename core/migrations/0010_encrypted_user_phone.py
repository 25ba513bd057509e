# Accounts' phone numbers encrypted at rest (core.crypto, issue 22).

import core.crypto
from django.db import migrations, models


def encrypt_phones(apps, schema_editor):
    User = apps.get_model("core", "User")
    for pk, phone in User.objects.exclude(phone="").values_list("pk", "phone").iterator():
        User.objects.filter(pk=pk).update(phone=core.crypto.rotate(core.crypto.decrypt(phone)))


def decrypt_phones(apps, schema_editor):
    User = apps.get_model("core", "User")
    for pk, phone in User.objects.exclude(phone="").values_list("pk", "phone").iterator():
        User.objects.filter(pk=pk).update(phone=core.crypto.decrypt(phone)[:40])


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0009_webhooks"),
    ]

    operations = [
        migrations.AlterField(model_name="user", name="phone", field=models.TextField(blank=True)),
        migrations.RunPython(encrypt_phones, decrypt_phones),
        migrations.AlterField(
            model_name="user",
            name="phone",
            field=core.crypto.EncryptedCharField(blank=True, max_length=40),
        ),
    ]
