"""`numbering_next`: two first creators of a scope's sequence never fail.

The loser of the race to create a new scope's sequence meets the winner's either through the
catalogue's unique index (`unique_violation`, while the winner has not committed) or, when the
winner committed between the loser's existence check and its insert, as `duplicate_table`
("relation already exists"). 0003 caught only the first; a concurrency test met the second.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION numbering_next(sequence_name text) RETURNS bigint AS $$
BEGIN
    RETURN nextval(sequence_name::regclass);
EXCEPTION WHEN undefined_table THEN
    BEGIN
        EXECUTE 'CREATE SEQUENCE IF NOT EXISTS ' || quote_ident(sequence_name);
    EXCEPTION WHEN unique_violation OR duplicate_table THEN
        NULL;
    END;
    RETURN nextval(sequence_name::regclass);
END
$$ LANGUAGE plpgsql;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


class Migration(migrations.Migration):
    dependencies = [("core", "0004_outbox_key_constraint")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
