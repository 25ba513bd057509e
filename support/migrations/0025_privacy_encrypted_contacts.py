# Tickets' contact address and name and chat visitors' name and address encrypted at rest
# (core.crypto, issue 22), each with a keyed hash beside it for exact lookups.
#
# Not atomic: indexes are built and dropped CONCURRENTLY and the rows are encrypted batch by
# batch, each committed on its own; every step can run again after a stop half-way (a row
# already encrypted is re-encrypted, its hash recomputed). The order matters on PostgreSQL:
# the search document stops reading the contact columns first (its triggers and trigram index
# name them, and they would keep their words in clear), then the columns become text, then the
# rows are encrypted, then the hash indexes are built (and retention's due index).
#
# SQLite: altering support_ticket there rebuilds the table, which the search triggers of an
# existing database refer to (as core 0010 notes), so the columns are added with plain
# ALTER TABLE ... ADD COLUMN and their types stay (SQLite does not bound a text's length).

from importlib import import_module

import core.crypto
import django.core.validators
from django.db import migrations, models, transaction

from core.migration_ops import create_index_concurrently, drop_index_concurrently
from core.search import Document, Field, Related
from core.search.operations import InstallSearchDocument

BATCH = 1000

# The ticket document without the contact columns (support.search declares the same; a test
# compares them).
TICKETS = Document(
    table="support_ticket",
    fields=(
        Field("subject", "{row}.subject", "A"),
        Field(
            "customer",
            "(SELECT full_name FROM core_user WHERE id = {row}.customer_id)",
            "B",
        ),
        Field(
            "organization",
            "(SELECT name FROM core_organization WHERE id = {row}.organization_id)",
            "B",
        ),
        Field("description_text", "{row}.description_text", "C"),
    ),
    columns=("subject", "description_text", "customer_id", "organization_id"),
    related=(
        Related("core_organization", key="organization_id", columns=("name",)),
        Related("core_user", key="customer_id", columns=("full_name",)),
    ),
    snippet="description_text",
    fuzzy=("subject",),
)

# table -> (encrypted column, its hash column), ...
CONTACTS = {
    "support_ticket": (
        ("customer_email", "customer_email_hash"),
        ("customer_name", "customer_name_hash"),
    ),
    "support_chatsession": (
        ("visitor_email", "visitor_email_hash"),
        ("visitor_name", "visitor_name_hash"),
    ),
}
INDEXES = [
    ("support_tkt_customer_email", "support_ticket", '("customer_email_hash")'),
    (
        "support_tkt_customer_name",
        "support_ticket",
        '("customer_name_hash") WHERE NOT ("customer_name_hash" = \'\')',
    ),
    (
        "chat_session_visitor_email",
        "support_chatsession",
        '("visitor_email_hash") WHERE NOT ("visitor_email_hash" = \'\')',
    ),
    # Retention's anonymise batches (closed tickets not yet anonymised, by id): without it each
    # batch walks past every ticket the batches before it anonymised.
    (
        "support_tkt_retention_due",
        "support_ticket",
        "(\"id\") WHERE (\"status\" IN ('closed', 'cancelled') AND NOT (\"subject\" = '[erased]'))",
    ),
]


def reinstall_previous_document(apps, schema_editor):
    """Backwards: migration 0009's document again (with the contact columns)."""
    previous = import_module("support.migrations.0009_ticket_search_everywhere").TICKETS
    InstallSearchDocument(previous).database_forwards("support", schema_editor, None, None)


def _postgres(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def drop_old_indexes(apps, schema_editor):
    if _postgres(schema_editor):
        for sql in [
            *drop_index_concurrently("support_ticket_search_trgm"),  # subject || customer_name
            *drop_index_concurrently("support_tkt_customer_email"),  # the plain address
        ]:
            schema_editor.execute(sql)
    else:
        schema_editor.execute('DROP INDEX IF EXISTS "support_tkt_customer_email"')


def restore_old_indexes(apps, schema_editor):
    if _postgres(schema_editor):
        for sql in create_index_concurrently(
            "support_tkt_customer_email", "support_ticket", '("customer_email")'
        ):
            schema_editor.execute(sql)
    else:
        schema_editor.execute(
            'CREATE INDEX IF NOT EXISTS "support_tkt_customer_email" '
            'ON "support_ticket" ("customer_email")'
        )


def _columns(schema_editor, table) -> set[str]:
    with schema_editor.connection.cursor() as cursor:
        return {
            c.name
            for c in schema_editor.connection.introspection.get_table_description(cursor, table)
        }


def add_columns(apps, schema_editor):
    for table, pairs in CONTACTS.items():
        present = _columns(schema_editor, table)
        for column, digest in pairs:
            if digest not in present:
                # A constant default: no table rewrite on PostgreSQL, no rebuild on SQLite.
                schema_editor.execute(
                    f'ALTER TABLE "{table}" ADD COLUMN "{digest}" varchar(64) NOT NULL DEFAULT \'\''
                )
            if _postgres(schema_editor):
                # varchar to text is binary-coercible: no rewrite, no index rebuilt.
                schema_editor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE text')


def drop_columns(apps, schema_editor):
    for table, pairs in CONTACTS.items():
        for _column, digest in pairs:
            schema_editor.execute(f'ALTER TABLE "{table}" DROP COLUMN "{digest}"')
    if _postgres(schema_editor):
        for table, column, length in (
            ("support_ticket", "customer_email", 254),
            ("support_ticket", "customer_name", 200),
            ("support_chatsession", "visitor_email", 254),
            ("support_chatsession", "visitor_name", 200),
        ):
            schema_editor.execute(
                f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE varchar({length})'
            )


def _batches(schema_editor, table, change):
    """Rewrite every row's contact columns, BATCH ids at a time, each batch committed on its
    own: `change(values)` takes the encrypted columns' values, returns each column's new value
    followed by its hash column's."""
    connection = schema_editor.connection
    pairs = CONTACTS[table]
    read = ", ".join(f'"{column}"' for column, _digest in pairs)
    write = ", ".join(f'"{c}" = %s' for pair in pairs for c in pair)
    last = 0
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(
                f'SELECT id, {read} FROM "{table}" WHERE id > %s ORDER BY id LIMIT %s',
                [last, BATCH],
            )
            rows = cursor.fetchall()
            if not rows:
                return
            cursor.executemany(
                f'UPDATE "{table}" SET {write} WHERE id = %s',
                [[*change(values), pk] for pk, *values in rows],
            )
        last = rows[-1][0]


def encrypt_contacts(apps, schema_editor):
    def encrypted(values):
        out = []
        for value in values:
            plain = core.crypto.decrypt(value or "")
            out += [core.crypto.rotate(plain), core.crypto.hash_or_empty(plain)]
        return out

    for table in CONTACTS:
        _batches(schema_editor, table, encrypted)


def decrypt_contacts(apps, schema_editor):
    def decrypted(values):
        out = []
        for value in values:
            out += [core.crypto.decrypt(value or ""), ""]
        return out

    for table in CONTACTS:
        _batches(schema_editor, table, decrypted)


def create_indexes(apps, schema_editor):
    for name, table, definition in INDEXES:
        if _postgres(schema_editor):
            for sql in create_index_concurrently(name, table, definition):
                schema_editor.execute(sql)
        else:
            schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" {definition}')


def drop_indexes(apps, schema_editor):
    for name, _table, _definition in INDEXES:
        if _postgres(schema_editor):
            for sql in drop_index_concurrently(name):
                schema_editor.execute(sql)
        else:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("core", "0010_encrypted_user_phone"),
        ("support", "0024_chat_presence_events"),
    ]

    operations = [
        # 1. The search document without the contact columns (PostgreSQL: triggers, batched
        # backfill, the trigram index on the subject alone; SQLite: triggers and content).
        migrations.RunPython(drop_old_indexes, restore_old_indexes),
        migrations.RunPython(migrations.RunPython.noop, reinstall_previous_document),
        InstallSearchDocument(TICKETS),
        # 2. Hash columns, text columns, the rows encrypted, the hash indexes.
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(add_columns, drop_columns),
                migrations.RunPython(encrypt_contacts, decrypt_contacts),
                migrations.RunPython(create_indexes, drop_indexes),
            ],
            state_operations=[
                migrations.RemoveIndex(model_name="ticket", name="support_tkt_customer_email"),
                migrations.AddField(
                    model_name="chatsession",
                    name="visitor_email_hash",
                    field=core.crypto.KeyedHashField(source="visitor_email"),
                ),
                migrations.AddField(
                    model_name="chatsession",
                    name="visitor_name_hash",
                    field=core.crypto.KeyedHashField(source="visitor_name"),
                ),
                migrations.AddField(
                    model_name="ticket",
                    name="customer_email_hash",
                    field=core.crypto.KeyedHashField(source="customer_email"),
                ),
                migrations.AddField(
                    model_name="ticket",
                    name="customer_name_hash",
                    field=core.crypto.KeyedHashField(source="customer_name"),
                ),
                migrations.AlterField(
                    model_name="chatsession",
                    name="visitor_email",
                    field=core.crypto.EncryptedCharField(
                        blank=True,
                        max_length=254,
                        validators=[django.core.validators.EmailValidator()],
                    ),
                ),
                migrations.AlterField(
                    model_name="chatsession",
                    name="visitor_name",
                    field=core.crypto.EncryptedCharField(blank=True, max_length=200),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="customer_email",
                    field=core.crypto.EncryptedCharField(
                        help_text="Where replies go; the customer's address, stored lower-case.",
                        max_length=254,
                        validators=[django.core.validators.EmailValidator()],
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="customer_name",
                    field=core.crypto.EncryptedCharField(blank=True, max_length=200),
                ),
                migrations.AddIndex(
                    model_name="chatsession",
                    index=models.Index(
                        condition=models.Q(("visitor_email_hash", ""), _negated=True),
                        fields=["visitor_email_hash"],
                        name="chat_session_visitor_email",
                    ),
                ),
                migrations.AddIndex(
                    model_name="ticket",
                    index=models.Index(
                        fields=["customer_email_hash"], name="support_tkt_customer_email"
                    ),
                ),
                migrations.AddIndex(
                    model_name="ticket",
                    index=models.Index(
                        condition=models.Q(("customer_name_hash", ""), _negated=True),
                        fields=["customer_name_hash"],
                        name="support_tkt_customer_name",
                    ),
                ),
                migrations.AddIndex(
                    model_name="ticket",
                    index=models.Index(
                        condition=models.Q(
                            ("status__in", ["closed", "cancelled"]),
                            models.Q(("subject", "[erased]"), _negated=True),
                        ),
                        fields=["id"],
                        name="support_tkt_retention_due",
                    ),
                ),
            ],
        ),
    ]
