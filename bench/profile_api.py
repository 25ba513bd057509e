"""The Python cost of the API's reads, in-process: where a request's time goes besides SQL.

    .venv/bin/python bench/profile_api.py                       # timings, SQL split
    .venv/bin/python bench/profile_api.py --middleware          # each middleware left out in turn
    .venv/bin/python bench/profile_api.py --profile queue       # cProfile of one request kind

Runs the queue's first page, the 50-message ticket (detail + messages), the ticket by number and
the keyword searches of `bench/api_bench.py` through Django's test client (the whole middleware
stack, no HTTP server) against the bench database, one request at a time. Each request's wall
time is split into the time spent inside the database driver's `execute` (SQL: the statement's
round trip, PostgreSQL's work included) and the rest (Python: middleware, DRF, the ORM building
SQL and model instances, serializers, JSON). The garbage collector is frozen and its threshold
raised as `config/gunicorn.py` does for a worker. Nothing is written except two API tokens.

Works against older checkouts too (copy it into their `bench/`): it only uses the API's URLs.
"""

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import api_bench  # noqa: E402

BASE = "/api/v1/support/tickets/"
# Groups of functions whose cumulative time is reported per request under --profile.
PROFILE_GROUPS = {
    "middleware (all, incl. view)": ("django/core/handlers/base.py", "_get_response"),
    "DRF view dispatch": ("rest_framework/views.py", "dispatch"),
    "DRF initial (auth, permissions, throttles)": ("rest_framework/views.py", "initial"),
    "authentication": ("rest_framework/request.py", "_authenticate"),
    "permissions": ("rest_framework/views.py", "check_permissions"),
    "throttles": ("rest_framework/views.py", "check_throttles"),
    "filterset (django-filter)": ("django_filters/filterset.py", "qs"),
    "serializer .data": ("rest_framework/serializers.py", "data"),
    "JSON render": ("rest_framework/renderers.py", "render"),
    "SQL compile (as_sql)": ("django/db/models/sql/compiler.py", "as_sql"),
    "SQL execute (cursor)": ("django/db/backends/utils.py", "_execute"),
    "model instances (from_db)": ("django/db/models/base.py", "from_db"),
    "CSP middleware": ("csp/middleware.py", "process_response"),
    "locale middleware": ("django/middleware/locale.py", "process_response"),
    "search (core.search.search)": ("core/search/__init__.py", "search"),
    "permission predicates (Action.__call__)": ("core/permissions.py", "__call__"),
}


def setup(url: str, without: list[str]) -> None:
    os.environ.update(api_bench.django_env(url))
    os.environ.pop("REDIS_URL", None)
    import django
    from django.conf import settings

    django.setup()
    if without:
        settings.MIDDLEWARE = [
            m for m in settings.MIDDLEWARE if m.rsplit(".", 1)[-1] not in without
        ]


class SqlTimer:
    """connection.execute_wrapper: time inside the driver's execute per request."""

    def __init__(self):
        self.seconds = 0.0
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


def requests_for(ticket_id: int, number: str) -> dict[str, list[str]]:
    out = {
        "queue": [api_bench.QUEUE_PATH],
        "ticket50": [f"{BASE}{ticket_id}/", f"{BASE}{ticket_id}/messages/?page_size=50"],
        "detail": [f"{BASE}{ticket_id}/"],
        "messages": [f"{BASE}{ticket_id}/messages/?page_size=50"],
        "by_number": [f"{BASE}{number.lower()}/"],
    }
    for q in api_bench.KEYWORDS:
        out[f"search {q}"] = [f"{BASE}?q={urllib.parse.quote(q)}"]
    return out


def pct(samples, p):
    return api_bench.percentile(samples, p)


def run(client, paths, count, warmup, timer, connection):
    walls, sqls, statements, cpus = [], [], [], []
    for index in range(warmup + count):
        timer.seconds, timer.count = 0.0, 0
        started = time.perf_counter()
        cpu_started = time.thread_time()
        with connection.execute_wrapper(timer):
            for path in paths:
                response = client.get(path)
                if response.status_code != 200:
                    raise RuntimeError(
                        f"GET {path}: {response.status_code} {response.content[:300]}"
                    )
        if index >= warmup:
            cpus.append((time.thread_time() - cpu_started) * 1000)
            walls.append((time.perf_counter() - started) * 1000)
            sqls.append(timer.seconds * 1000)
            statements.append(timer.count)
    pythons = [w - s for w, s in zip(walls, sqls, strict=True)]
    return {
        "wall_p50": statistics.median(walls),
        "wall_p95": pct(walls, 95),
        "sql_p50": statistics.median(sqls),
        "python_p50": statistics.median(pythons),
        "python_p95": pct(pythons, 95),
        # CPU time of this thread (Python, the driver, libpq): what other load on the machine
        # does not inflate, unlike the wall times.
        "cpu_p50": statistics.median(cpus),
        "statements": statements[-1],
    }


def calls_per_request(client, paths, timer, connection, count=10) -> float:
    """Python function calls per request (cProfile's count): a measure of the work done in
    Python that the machine's other load does not change."""
    profiler = cProfile.Profile()
    profiler.enable()
    run(client, paths, count, 0, timer, connection)
    profiler.disable()
    return pstats.Stats(profiler).total_calls / count


def group_times(stats: pstats.Stats, requests: int) -> dict[str, float]:
    out = {}
    for label, (file_part, name) in PROFILE_GROUPS.items():
        total = 0.0
        for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
            if func == name and filename.endswith(file_part):
                total += ct
        if total:
            out[label] = total * 1000 / requests
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", api_bench.DEFAULT_URL)
    )
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--only", nargs="*", help="request kinds to run (default: all)")
    parser.add_argument("--without", nargs="*", default=[], help="middleware class names to drop")
    parser.add_argument("--profile", help="cProfile this request kind; print the top functions")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    setup(args.database_url, args.without)
    from django.db import connection
    from rest_framework.test import APIClient

    from core.api.authentication import create_token
    from core.models import User

    lead = User.objects.get(email=api_bench.LEAD_EMAIL)
    _, key = create_token(user=lead, name="bench-profile")
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM bench_meta WHERE key = 'fifty_message_ticket'")
        ticket_id = int(json.loads(cursor.fetchone()[0]))
        cursor.execute("SELECT number FROM support_ticket WHERE id = %s", [ticket_id])
        number = cursor.fetchone()[0]
    client = APIClient(SERVER_NAME="127.0.0.1")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    kinds = requests_for(ticket_id, number)
    if args.only:
        kinds = {k: v for k, v in kinds.items() if any(k.startswith(o) for o in args.only)}
    timer = SqlTimer()
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)

    if args.profile:
        paths = kinds[args.profile]
        run(client, paths, 20, 0, timer, connection)  # warm
        profiler = cProfile.Profile()
        profiler.enable()
        run(client, paths, args.samples, 0, timer, connection)
        profiler.disable()
        stats = pstats.Stats(profiler)
        print(f"## {args.profile}: cumulative ms per request (profiled; inflated by cProfile)")
        for label, ms in group_times(stats, args.samples).items():
            print(f"  {label:45s} {ms:7.2f}")
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
            print(out.getvalue())
        return

    results = {}
    print(
        f"{'request':22s} {'wall p50':>9s} {'wall p95':>9s} {'SQL p50':>8s} {'Py p50':>8s} "
        f"{'Py p95':>8s} {'CPU p50':>8s} {'calls':>7s} stmts"
    )
    for name, paths in kinds.items():
        r = run(client, paths, args.samples, args.warmup, timer, connection)
        r["calls"] = calls_per_request(client, paths, timer, connection)
        results[name] = r
        print(
            f"{name:22s} {r['wall_p50']:9.2f} {r['wall_p95']:9.2f} {r['sql_p50']:8.2f} "
            f"{r['python_p50']:8.2f} {r['python_p95']:8.2f} {r['cpu_p50']:8.2f} "
            f"{r['calls']:7.0f} {r['statements']:5d}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
