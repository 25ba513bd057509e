# Accounts' phone numbers encrypted at rest (core.crypto, issue 22).

import core.crypto
from django.db import migrations


def encrypt_phones(apps, schema_editor):
    User = apps.get_model("core", "User")
    for pk, phone in User.objects.exclude(phone="").values_list("pk", "phone").iterator():
        User.objects.filter(pk=pk).update(phone=core.crypto.rotate(core.crypto.decrypt(phone)))


def decrypt_phones(apps, schema_editor):
    User = apps.get_model("core", "User")
    for pk, phone in User.objects.exclude(phone="").values_list("pk", "phone").iterator():
        User.objects.filter(pk=pk).update(phone=core.crypto.decrypt(phone)[:40])


def widen_on_postgresql(apps, schema_editor):
    # SQLite does not bound a column's length, and altering core_user's column there rebuilds
    # the table, which the ticket search triggers of an existing database refer to (the
    # rebuild fails); so only PostgreSQL's column changes.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE core_user ALTER COLUMN phone TYPE text")


def narrow_on_postgresql(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE core_user ALTER COLUMN phone TYPE varchar(40)")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0009_webhooks"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(widen_on_postgresql, narrow_on_postgresql),
                migrations.RunPython(encrypt_phones, decrypt_phones),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="user",
                    name="phone",
                    field=core.crypto.EncryptedCharField(blank=True, max_length=40),
                ),
            ],
        ),
    ]
