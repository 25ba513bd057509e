"""What business rules cost: ticket creation with 50 active triggers against none, and the
automation job's cost against the table size, measured in one run.

    .venv/bin/python bench/rules.py --database-url postgres://.../some_bench_db   # ~1 min

Creation: `create_ticket` in-process, rounds alternating between no enabled trigger and 50
enabled creation triggers (`--matching`, default 2, match and set the priority in the
creating transaction; the others do not match), medians compared; the target is at most
+20 %. The job: `run_automations` with
one enabled automation and nothing due, then with `--due` tickets due; its statements and time
should follow the tickets due, not the table (`--tickets` extra tickets are seeded with one
INSERT ... SELECT so the table is big). Everything the run creates is deleted at the end
(rules, tickets), so a seeded bench database is left as it was.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/supportdesk_bench"
TARGET = 1.20
SEED_SQL = " ".join(
    [
        "INSERT INTO support_ticket (number, subject, description, description_text,",
        "customer_email, customer_name, priority, status, channel, created_at, updated_at,",
        "sla_paused_minutes, sla_pauses, response_warned, response_breached,",
        "resolution_warned, resolution_breached, escalation_level, satisfaction_comment,",
        "sla_override_reason)",
        "SELECT 'TKT-BENCHR-' || g, 'bench', '', '', 'x@bench-rules.example', '', 'medium',",
        "'closed', 'web', now() - interval '30 days', now(), 0, '[]', false, false, false,",
        "false, 0, '', '' FROM generate_series(1, %s) g RETURNING id",
    ]
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--per-round", type=int, default=25)
    parser.add_argument("--tickets", type=int, default=0, help="extra tickets to seed for the job")
    parser.add_argument("--due", type=int, default=50)
    parser.add_argument("--matching", type=int, default=2, help="of the 50, how many match")
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=args.database_url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        LOG_LEVEL="ERROR",
        CELERY_BROKER_URL="memory://localhost/",
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from core.models import Organization, User
    from core.roles import Role
    from support.models import Rule, Ticket
    from support.rules import services as rule_services
    from support.rules.automations import run_automations
    from support.services import create_ticket

    call_command("migrate", verbosity=0)
    lead, _ = User.objects.get_or_create(
        email="bench-rules-lead@example.com", defaults={"full_name": "Bench Lead"}
    )
    from django.contrib.auth.models import Group

    lead.groups.add(Group.objects.get_or_create(name=str(Role.SUPPORT_LEAD))[0])
    org, _ = Organization.objects.get_or_create(
        slug="bench-rules-org", defaults={"name": "Bench Org", "tier": "enterprise"}
    )
    before_ids = set(Rule.objects.values_list("pk", flat=True))
    was_enabled = list(Rule.objects.filter(enabled=True).values_list("pk", flat=True))
    Rule.objects.filter(enabled=True).update(enabled=False)
    created_ids: list[int] = []
    triggers = []
    for n in range(50):
        matching = n < args.matching
        triggers.append(
            rule_services.create_rule(
                by=lead,
                kind="trigger",
                data={
                    "name": f"bench {n}",
                    "events": ["created"],
                    "conditions": [
                        {
                            "field": "tier",
                            "op": "is",
                            "value": "enterprise" if matching else "free",
                        },
                        {"field": "text", "op": "contains_any", "value": ["outage", f"word{n}"]},
                    ],
                    "actions": [
                        {"type": "set_priority", "value": "urgent"},
                    ],
                },
            )
        )
    ids = [t.pk for t in triggers]

    def create_round(count):
        started = time.perf_counter()
        for _ in range(count):
            ticket = create_ticket(
                by=None,
                customer_email="wile@bench-rules.example",
                subject="Outage in the EU",
                description="All down",
            )
            created_ids.append(ticket.pk)
        return (time.perf_counter() - started) / count * 1000

    Organization.objects.filter(pk=org.pk).update(email_domain="bench-rules.example")
    try:
        create_round(5)  # warm up
        none, fifty = [], []
        for _ in range(args.rounds):
            Rule.objects.filter(pk__in=ids).update(enabled=False)
            none.append(create_round(args.per_round))
            Rule.objects.filter(pk__in=ids).update(enabled=True)
            fifty.append(create_round(args.per_round))
        Rule.objects.filter(pk__in=ids).update(enabled=False)
        with CaptureQueriesContext(connection) as q0:
            create_round(1)
        Rule.objects.filter(pk__in=ids).update(enabled=True)
        with CaptureQueriesContext(connection) as q50:
            create_round(1)
        Rule.objects.filter(pk__in=ids).update(enabled=False)
        if os.environ.get("BENCH_SHOW_SQL"):
            for query in q50.captured_queries:
                print("   ", query["sql"][:140])
        m0, m50 = statistics.median(none), statistics.median(fifty)
        ratio = m50 / m0
        print(
            f"creation: no trigger {m0:.2f} ms ({len(q0)} statements), 50 triggers {m50:.2f} ms "
            f"({len(q50)} statements): ratio {ratio:.3f} (target <= {TARGET}) "
            f"{'MET' if ratio <= TARGET else 'NOT MET'}"
        )

        # The job: one automation, nothing due, then `--due` due.
        automation = rule_services.create_rule(
            by=lead,
            kind="automation",
            data={
                "name": "bench quiet",
                "anchor": "created_at",
                "after_minutes": 60,
                "enabled": True,
                # The bench's organisation: a seeded database's own open tickets (a 1M seed
                # has tens of thousands) are never due, so "due" is exactly `--due`.
                "conditions": [
                    {"field": "status", "op": "is", "value": "open"},
                    {"field": "organization", "op": "is", "value": org.pk},
                ],
                "actions": [{"type": "add_tags", "value": ["quiet"]}],
            },
        )
        if args.tickets:
            with connection.cursor() as cursor:
                cursor.execute(SEED_SQL, [args.tickets])
                created_ids.extend(row[0] for row in cursor.fetchall())
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE support_ticket")
        total = Ticket.objects.count()
        now = timezone.now()
        with CaptureQueriesContext(connection) as idle:
            started = time.perf_counter()
            run_automations(now=now)
            idle_ms = (time.perf_counter() - started) * 1000
        Ticket.objects.filter(pk__in=created_ids[: args.due]).update(
            created_at=now - timezone.timedelta(hours=2)
        )
        with CaptureQueriesContext(connection) as busy:
            started = time.perf_counter()
            result = run_automations(now=now)
            busy_ms = (time.perf_counter() - started) * 1000
        print(
            f"automations at {total} tickets: nothing due {idle_ms:.1f} ms "
            f"({len(idle)} statements); "
            f"{result.fired.get(automation.pk, 0)} due {busy_ms:.1f} ms ({len(busy)} statements)"
        )
    finally:
        Ticket.objects.filter(pk__in=created_ids).delete()
        Rule.objects.exclude(pk__in=before_ids).delete()
        Rule.objects.filter(pk__in=was_enabled).update(enabled=True)


if __name__ == "__main__":
    main()
