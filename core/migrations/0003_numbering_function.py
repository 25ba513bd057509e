from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION numbering_next(sequence_name text) RETURNS bigint AS $$
BEGIN
    RETURN nextval(sequence_name::regclass);
EXCEPTION WHEN undefined_table THEN
    -- First number of a new scope: create its sequence. Two first creators may race; the loser
    -- meets the winner's sequence through the catalogue's unique index.
    BEGIN
        EXECUTE 'CREATE SEQUENCE IF NOT EXISTS ' || quote_ident(sequence_name);
    EXCEPTION WHEN unique_violation THEN
        NULL;
    END;
    RETURN nextval(sequence_name::regclass);
END
$$ LANGUAGE plpgsql;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS numbering_next(text)")


class Migration(migrations.Migration):
    dependencies = [("core", "0002_roles")]

    operations = [migrations.RunPython(create, drop)]
