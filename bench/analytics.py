"""Support analytics at volume: the dashboard's data from the rollups beside the same figures
straight from the tickets, and the incremental job's cost for 100 changed tickets.

    .venv/bin/python bench/seed_tickets.py --tickets 20000 \\
        --database-url postgres://postgres@127.0.0.1:5432/supportdesk_analytics_bench
    .venv/bin/python bench/analytics.py \\
        --database-url postgres://postgres@127.0.0.1:5432/supportdesk_analytics_bench

Steps, in one run: give the seeded tickets the status events the services would have written
(the seed writes rows, not history; once, marked in `bench_meta`), rebuild the rollups from
scratch (timed), then:

- the report's data for the 90 days before the newest seeded ticket, through the API view
  in-process (the Django test client, as a lead), `--samples` times: p50/p95 and statements;
- the same figures computed straight from the tickets (the exact path), a few times;
- 100 active tickets' priority changed through the service, then one run of the incremental job:
  wall time, statements, tickets recomputed. Run at two sizes to compare (the job reads the
  events after its watermark and the 100 tickets they name, not the table).

It changes the bench database (100 tickets change priority per run). Every loop is bounded.
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/supportdesk_analytics_bench"

HISTORY_SQL = """
INSERT INTO support_ticketevent (ticket_id, kind, actor_id, before, after, metadata, created_at,
                                 note, is_internal)
SELECT t.id, 'status_changed', NULL, jsonb_build_object('status', 'in_progress'),
       jsonb_build_object('status', t.status), '{}'::jsonb,
       coalesce(t.resolved_at, t.closed_at, t.updated_at), '', false
FROM support_ticket t
WHERE t.status IN ('resolved', 'closed', 'cancelled')
  AND NOT EXISTS (SELECT 1 FROM support_ticketevent e WHERE e.ticket_id = t.id)
"""


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description="Analytics at volume")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--exact-samples", type=int, default=3)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument(
        "--keep-rollups",
        action="store_true",
        help="measure on the rollups an earlier run built (the job first catches up)",
    )
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
    from django.db import connection, transaction
    from django.db.models import Max
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from analytics import rollups
    from analytics.models import DailyRollup
    from analytics.selectors import Query, report
    from core.models import User
    from support import services
    from support.models import Ticket

    lead = User.objects.with_email("lead@example.com").get()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text)")
        cursor.execute("SELECT value FROM bench_meta WHERE key = 'analytics_history'")
        if cursor.fetchone() is None:
            started = time.monotonic()
            cursor.execute(HISTORY_SQL)
            cursor.execute("INSERT INTO bench_meta VALUES ('analytics_history', 'done')")
            cursor.execute("ANALYZE support_ticketevent")
            print(f"history events written in {time.monotonic() - started:.1f}s")
    tickets = Ticket.objects.count()
    print(f"tickets: {tickets:,}")

    started = time.monotonic()
    if args.keep_rollups and DailyRollup.objects.exists():
        rollups.refresh()
        print(f"rollups kept, caught up in {time.monotonic() - started:.1f}s")
    else:
        rebuilt = rollups.rebuild()
        print(
            f"rebuild from scratch: {rebuilt:,} tickets in {time.monotonic() - started:.1f}s, "
            f"{DailyRollup.objects.count():,} rollup rows"
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE analytics_dailyrollup")
        cursor.execute("ANALYZE analytics_ticketfact")

    newest = Ticket.objects.aggregate(last=Max("created_at"))["last"]
    end = newest.date()
    start = end - dt.timedelta(days=89)
    client = Client()
    client.force_login(lead)
    url = f"/api/v1/support/analytics/?start={start}&end={end}&group=week&by=team"
    # Two warm-ups, as the desk bench does: a process's first request also loads what every
    # later one reuses (measured: 765 ms cold against ~120 ms after).
    for _ in range(2):
        client.get(url, HTTP_ACCEPT="application/json", HTTP_HOST="127.0.0.1")
    timings = []
    for _ in range(args.samples):
        with CaptureQueriesContext(connection) as queries:
            began = time.perf_counter()
            response = client.get(url, HTTP_ACCEPT="application/json", HTTP_HOST="127.0.0.1")
            timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.content[:300]
    in_range = DailyRollup.objects.filter(day__gte=start, day__lte=end).count()
    print(
        f"API, 90 days from the rollups ({in_range:,} rows): p50 "
        f"{statistics.median(timings):.1f} ms, p95 {percentile(timings, 0.95):.1f} ms, "
        f"{len(queries)} statements"
    )

    exact = []
    query = Query(start=start, end=end, group="week", by="team")
    for _ in range(args.exact_samples):
        began = time.perf_counter()
        report(user=lead, query=query, exact=True)
        exact.append((time.perf_counter() - began) * 1000)
    print(
        f"the same figures straight from the tickets: p50 {statistics.median(exact):.0f} ms "
        f"({statistics.median(exact) / statistics.median(timings):.0f}x the rollups)"
    )

    rollups.refresh()
    # A priority change moves every figure of a ticket to another priority: repeatable, and
    # each changed ticket really moves rows.
    changed = list(
        Ticket.objects.filter(status__in=["open", "assigned", "in_progress"]).order_by("-id")[
            : args.changes
        ]
    )
    with transaction.atomic():
        for ticket in changed:
            services.change_priority(
                ticket=ticket, by=lead, priority="high" if ticket.priority != "high" else "medium"
            )
    with CaptureQueriesContext(connection) as queries:
        began = time.perf_counter()
        result = rollups.refresh()
        spent = (time.perf_counter() - began) * 1000
    print(
        f"incremental job after {len(changed)} changed tickets: {spent:.0f} ms, "
        f"{len(queries)} statements, {result.tickets} tickets recomputed, "
        f"{result.rows_written} rows written"
    )
    began = time.perf_counter()
    idle = rollups.refresh()
    print(
        f"incremental job with nothing new: {(time.perf_counter() - began) * 1000:.1f} ms "
        f"({idle.tickets} tickets)"
    )


if __name__ == "__main__":
    main()
