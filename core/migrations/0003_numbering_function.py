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
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite keeps counting with core_numbercounter rows
    schema_editor.execute(CREATE)
    # Numbers handed out by the counter rows before this migration continue in the sequences.
    NumberCounter = apps.get_model("core", "NumberCounter")
    for scope, last_value in NumberCounter.objects.values_list("scope", "last_value"):
        name = "numbering_" + scope.lower().replace("-", "_")
        schema_editor.execute(f'CREATE SEQUENCE IF NOT EXISTS "{name}"')
        schema_editor.execute("SELECT setval(%s, %s)", [name, last_value])


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS numbering_next(text)")


class Migration(migrations.Migration):
    dependencies = [("core", "0002_roles")]

    operations = [migrations.RunPython(create, drop)]
