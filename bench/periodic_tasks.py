"""Time the beat tasks against the seeded million-ticket database: what each minute costs.

    .venv/bin/python bench/periodic_tasks.py        # after bench/seed_tickets.py; ~30 s

Runs each periodic task twice in-process (the first run may have a backlog to work off, the
second is the steady state) and reports wall time and SQL statements per run. The SLA monitor
has its own bench (bench/sla_monitor.py). Tasks publish to an in-memory broker; no worker runs,
and the tasks really change the bench database (tickets get assigned and closed).
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/supportdesk_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description="Beat tasks at a million tickets")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
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
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from core import tasks as core_tasks
    from support import tasks as support_tasks
    from support.models import Ticket

    # Fresh planner statistics, as autovacuum would have them on a live system (the bench's own
    # loads grow these tables faster than autovacuum analyses them).
    with connection.cursor() as cursor:
        for table in ("support_ticket", "core_outboxmessage", "core_notification"):
            cursor.execute(f"ANALYZE {table}")
    print(f"{Ticket.objects.count():,} tickets")
    # More statements than the query log holds (9,000) would make the counts wrong.
    connection.queries_log = type(connection.queries_log)(maxlen=1_000_000)
    print(
        "| task (beat interval) | run | wall ms | SQL statements | slowest statement ms | result |"
    )
    print("|---|---|---|---|---|---|")
    for name, every, task in (
        ("assign waiting tickets", "60 s", support_tasks.assign_waiting_tickets),
        ("auto-close resolved", "1 h", support_tasks.auto_close_resolved_tickets),
        ("outbox sweep", "30 s", core_tasks.sweep_outbox),
        ("housekeeping", "120 s", core_tasks.housekeeping),
    ):
        for run in (1, 2):
            reset_queries()  # the log keeps 9,000 statements; a long run must start it empty
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                result = task()
                wall = (time.perf_counter() - started) * 1000
            slowest = max((float(q["time"]) for q in captured.captured_queries), default=0.0)
            print(
                f"| {name} ({every}) | {run} | {wall:,.1f} | {len(captured)} | "
                f"{slowest * 1000:,.1f} | {str(result)[:60]} |"
            )


if __name__ == "__main__":
    main()
