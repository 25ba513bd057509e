"""The rules the product ships with, editable like any other: the default priority rules of the
requirement documents as triggers, and today's auto-close as an automation."""

from django.db import migrations

SHIPPED = [
    {
        "kind": "trigger",
        "name": "Enterprise customers start at high",
        "description": "The tier rule of the requirements: enterprise tickets open as P1 High.",
        "position": 0,
        "enabled": True,
        "events": ["created"],
        "conditions": [
            {"field": "tier", "op": "is", "value": "enterprise"},
            {"field": "priority_chosen", "op": "is", "value": False},
        ],
        "actions": [{"type": "set_priority", "value": "high"}],
    },
    {
        "kind": "trigger",
        "name": "Security and data problems start at high",
        "description": "The category rule of the requirements (a demo: enable it to use it).",
        "position": 1,
        "enabled": False,
        "events": ["created"],
        "conditions": [
            {"field": "category", "op": "in", "value": ["security", "data"]},
            {"field": "priority_chosen", "op": "is", "value": False},
        ],
        "actions": [{"type": "set_priority", "value": "high"}],
    },
    {
        "kind": "automation",
        "name": "Close resolved tickets after 7 days",
        "description": "Today's auto-close: a resolved ticket closes 7 days after it was resolved.",
        "position": 0,
        "enabled": True,
        "anchor": "resolved_at",
        "after_minutes": 7 * 24 * 60,
        "conditions": [{"field": "status", "op": "is", "value": "resolved"}],
        "actions": [{"type": "set_status", "value": "closed"}],
    },
]


def ship(apps, schema_editor):
    Rule = apps.get_model("support", "Rule")
    RuleEvent = apps.get_model("support", "RuleEvent")
    for data in SHIPPED:
        rule = Rule.objects.create(**data)
        snapshot = {k: v for k, v in data.items() if k != "kind"} | {"author": None}
        RuleEvent.objects.create(rule=rule, kind="created", version=1, after=snapshot)


def unship(apps, schema_editor):
    Rule = apps.get_model("support", "Rule")
    Rule.objects.filter(author__isnull=True, name__in=[d["name"] for d in SHIPPED]).delete()


class Migration(migrations.Migration):
    dependencies = [("support", "0018_rules")]

    operations = [migrations.RunPython(ship, unship)]
