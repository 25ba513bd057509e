"""Issue 19's desk bench: the queue's first page (every view, every sort offered) and the ticket
workspace of the ticket with 50 messages, server time at 1,000,000 tickets.

    .venv/bin/python bench/seed_tickets.py          # once: the 1M-ticket database
    .venv/bin/python bench/desk_pages.py --json /tmp/desk.json

Server time is the whole Django request in-process (middleware, views, queries, templates)
through the test client, as a support lead (who sees every ticket) and as an agent; each page
is requested `--samples` times after two warm-ups, with the queue's view counts forgotten
before every request (their 15 s cache would hide the aggregate). Target: p95 under 150 ms.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import seed_tickets  # noqa: E402

TARGET_MS = 150


def percentile(samples, pct):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", seed_tickets.DEFAULT_URL)
    )
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--json")
    parser.add_argument("--no-migrate", action="store_true")
    parser.add_argument(
        "--only", default="", help="measure only pages whose label contains this, e.g. workspace"
    )
    parser.add_argument("--roles", default="lead,agent", help="comma-separated: lead, agent")
    args = parser.parse_args()
    if not args.no_migrate:
        seed_tickets.manage(args.database_url, "migrate", "--noinput", "-v", "0")
    # The pages name their assets through the manifest, as in production.
    seed_tickets.manage(args.database_url, "collectstatic", "--noinput", "-v", "0")
    os.environ.update(seed_tickets.django_env(args.database_url))
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from core.models import User
    from support import queue
    from support.models import Ticket

    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM bench_meta WHERE key = 'fifty_message_ticket'")
        row = cursor.fetchone()
    busy = Ticket.objects.get(pk=json.loads(row[0])) if row else None
    people = {
        "lead": User.objects.get(email="lead@example.com"),
        "agent": User.objects.get(email="alice@example.com"),
    }
    pages = [
        (f"/desk/?view={v.key}&sort={s}", f"queue {v.key} by {s}")
        for v in queue.VIEWS
        for s in queue.sorts_for(v.key)
    ]
    if busy is not None:
        pages.append((f"/desk/tickets/{busy.number}/", "workspace, 50 messages"))
    pages = [(path, label) for path, label in pages if args.only in label]
    people = {role: user for role, user in people.items() if role in args.roles.split(",")}
    results = []
    for role, user in people.items():
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        for path, label in pages:
            timings, statements = [], 0
            for attempt in range(args.samples + 2):
                queue.forget_counts(user)
                connection.queries_log.clear()  # the log keeps 9,000 entries; count afresh
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    response = client.get(path)
                    elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, (path, response.status_code)
                if attempt >= 2:
                    timings.append(elapsed)
                    statements = len(captured)
            result = {
                "role": role,
                "page": label,
                "p50_ms": round(statistics.median(timings), 1),
                "p95_ms": round(percentile(timings, 95), 1),
                "max_ms": round(max(timings), 1),
                "statements": statements,
                "pass": percentile(timings, 95) < TARGET_MS,
            }
            results.append(result)
            print(
                f"{role:5} {label:34} p50 {result['p50_ms']:7.1f}  p95 {result['p95_ms']:7.1f}"
                f"  max {result['max_ms']:7.1f} ms  {statements:3} statements  "
                f"{'PASS' if result['pass'] else 'FAIL'}",
                flush=True,
            )
    tickets = Ticket.objects.count()
    print(
        f"\n{tickets:,} tickets; target p95 < {TARGET_MS} ms; "
        f"{sum(r['pass'] for r in results)}/{len(results)} pages pass"
    )
    if args.json:
        Path(args.json).write_text(json.dumps({"tickets": tickets, "results": results}, indent=2))


if __name__ == "__main__":
    main()
