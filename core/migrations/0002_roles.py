from django.db import migrations

ROLE_NAMES = ["customer", "agent", "support_lead", "reviewer", "technician", "admin"]


def create_role_groups(apps, schema_editor):
    """The role groups exist from the first migrate; their permissions are granted after it."""
    Group = apps.get_model("auth", "Group")
    for name in ROLE_NAMES:
        Group.objects.get_or_create(name=name)


def remove_role_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_NAMES).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_role_groups, remove_role_groups)]
