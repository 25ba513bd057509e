"""Benchmark knowledge base search (issue 11) on PostgreSQL and SQLite, beside plain `icontains`.

    .venv/bin/python bench/knowledge_search.py --json /tmp/kb.json     # ~5 minutes seeded

Seeds (once; `bench/seed_articles.py`) 100,000 articles in `supportdesk_bench_kb` and 10,000 in
an SQLite file (`/tmp/supportdesk_bench_kb/db.sqlite3` by default), ANALYZEs, then for each
query of QUERIES, as an anonymous visitor (published, public articles):

* SQL: the statements `knowledge.selectors.find_articles` runs for the API's first page (the
  page of 25 plus one row to know a next page exists), captured with CaptureQueriesContext
  while the selector's queryset is evaluated, then executed again N times on Django's own
  connection (PostgreSQL: JIT off, as config.settings sets it per connection; planned each time,
  as Django's client-side binding does);
* the same first page by a plain `icontains` implementation: every word (or quoted phrase) in
  title, summary or content_text, excluded words not, in the list's order (pinned, title) — its
  statement likewise, the samples interleaved with the search's so both see the same load;
* in-process: the selector evaluated through the ORM, and the API request through Django's
  test client (the whole stack, no HTTP);
* HTTP (PostgreSQL): GET /api/v1/knowledge/articles/?q=... to gunicorn (config/gunicorn.py,
  2 workers x 4 threads) on a free loopback port, sequential keep-alive requests after warm-up,
  anonymous throttle raised (capacity, not policy, is measured).

p50/p95 per query; targets: PostgreSQL HTTP p95 < 30 ms, SQL p95 < 5 ms, icontains / search
>= 20 (p50 of the same query); SQLite the same in-process. Reports the load average beside
each phase. Every process it starts is stopped at the end.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import seed_articles  # noqa: E402
from bench.api_bench import Server, free_port, percentile, request  # noqa: E402

DEFAULT_URL = seed_articles.DEFAULT_URL
DEFAULT_SQLITE = "/tmp/supportdesk_bench_kb"
API = "/api/v1/knowledge/articles/"
PAGE = 25
# (label, q, category): a spread of selectivities and of the syntax's features.
QUERIES = [
    ("very common word", "settings", ""),
    ("common word", "password", ""),
    ("less common word", "csv", ""),
    ("rare word", "kerberos", ""),
    ("two words", "webhook timeout", ""),
    ("phrase", '"reset your password"', ""),
    ("exclusion", "sync -calendar", ""),
    ("or", "refund or chargeback", ""),
    ("typo", "pasword", ""),
    ("half-typed (prefix)", "notif", ""),
    ("word + category", "printer", "troubleshooting"),
]
TARGETS = {"http_p95": 30.0, "sql_p95": 5.0, "ratio": 20.0}


def log(line: str = "") -> None:
    print(line, flush=True)


def summary(samples) -> dict:
    return {
        "n": len(samples),
        "p50": statistics.median(samples),
        "p95": percentile(samples, 95),
        "max": max(samples),
    }


def sample(fn, count: int, budget: float, minimum: int = 20) -> list[float]:
    """Up to `count` timings (ms) of `fn`; fewer once `budget` seconds are spent, never fewer
    than `minimum` (a slow query gets fewer samples, not an unbounded run)."""
    samples = []
    deadline = time.monotonic() + budget
    while len(samples) < count and (len(samples) < minimum or time.monotonic() < deadline):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --- in-process part (a subprocess under Django, one database) ---------------------------------


def naive(user, query: str, category: str = ""):
    """What a first implementation without a search index does: icontains on three columns."""
    from django.db.models import Q

    from core.search.query import parse
    from knowledge.selectors import articles_for

    def anywhere(text):
        return (
            Q(title__icontains=text) | Q(summary__icontains=text) | Q(content_text__icontains=text)
        )

    queryset = articles_for(user)
    if category:
        queryset = queryset.filter(category=category)
    parsed = parse(query)
    for group in parsed.groups:
        condition = Q()
        for term in group:
            condition |= anywhere(term.text)
        queryset = queryset.filter(condition)
    for term in parsed.excluded:
        queryset = queryset.exclude(anywhere(term.text))
    return queryset.order_by("-is_pinned", "title", "pk")


def inprocess(args) -> dict:
    import django

    django.setup()
    from django.contrib.auth.models import AnonymousUser
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from knowledge.selectors import find_articles

    anonymous = AnonymousUser()
    vendor = connection.vendor
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute("SHOW jit")
            jit = cursor.fetchone()[0]
        else:
            jit = None
            cursor.execute("SELECT sqlite_version()")
            version = cursor.fetchone()[0]
    if vendor == "postgresql":
        version = connection.pg_version

    def first_page(queryset):
        return list(queryset[: PAGE + 1])

    def captured(build):
        with CaptureQueriesContext(connection) as ctx:
            rows = first_page(build())
        return rows, [q["sql"] for q in ctx.captured_queries]

    def replay(statements):
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                cursor.fetchall()

    client = Client(SERVER_NAME="127.0.0.1")
    results = {"vendor": vendor, "jit": jit, "version": version, "queries": {}}
    for label, q, category in QUERIES:
        search_qs = lambda q=q, category=category: find_articles(anonymous, q, category=category)  # noqa: E731
        naive_qs = lambda q=q, category=category: naive(anonymous, q, category)  # noqa: E731
        rows, search_sql = captured(search_qs)
        naive_rows, naive_sql = captured(naive_qs)
        matches = find_articles(anonymous, q, category=category, snippets=False).count()
        naive_matches = naive(anonymous, q, category).count()
        params = {"q": q, **({"category": category} if category else {})}
        path = f"{API}?{urllib.parse.urlencode(params)}"
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
        api_rows = len(response.json()["results"])
        api_statements = len(ctx.captured_queries)
        # Warm-up, then samples: `args.naive_samples` rounds, each one icontains statement and
        # `per_round` search statements, so both sample the same minutes of machine load.
        for _ in range(3):
            replay(search_sql)
        replay(naive_sql)
        per_round = max(1, args.sql_samples // args.naive_samples)
        round_budget = args.budget / args.naive_samples
        sql, naive_samples = [], []
        for _ in range(args.naive_samples):
            naive_samples += sample(lambda s=naive_sql: replay(s), 1, 0, 1)
            sql += sample(lambda s=search_sql: replay(s), per_round, round_budget, 2)
        orm = sample(lambda b=search_qs: first_page(b()), args.inproc_samples, args.budget / 2)
        for _ in range(5):
            client.get(path)
        api = sample(lambda p=path: client.get(p), args.inproc_samples, args.budget / 2)
        entry = {
            "q": q,
            "category": category,
            "matches": matches,
            "first_page_rows": min(len(rows), PAGE),
            "api_rows": api_rows,
            "api_statements": api_statements,
            "search_statements": len(search_sql),
            "naive_matches": naive_matches,
            "naive_first_page_rows": min(len(naive_rows), PAGE),
            "sql": summary(sql),
            "naive_sql": summary(naive_samples),
            "orm": summary(orm),
            "api_inprocess": summary(api),
            "search_sql_text": search_sql,
            "naive_sql_text": naive_sql,
        }
        entry["ratio_p50"] = entry["naive_sql"]["p50"] / entry["sql"]["p50"]
        entry["ratio_p95"] = entry["naive_sql"]["p95"] / entry["sql"]["p95"]
        if args.explain and vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + search_sql[-1])
                entry["explain"] = "\n".join(r[0] for r in cursor.fetchall())
        results["queries"][label] = entry
        log(
            f"  {label:22} {q!r:26} {matches:>6,} matches: SQL {entry['sql']['p50']:6.2f} / "
            f"{entry['sql']['p95']:6.2f} ms, icontains {entry['naive_sql']['p50']:7.1f} ms "
            f"(x{entry['ratio_p50']:.0f}), API in-process {entry['api_inprocess']['p95']:.1f}"
        )
    return results


def run_inprocess(env: dict, args) -> dict:
    cmd = [sys.executable, __file__, "--inprocess"]
    cmd += ["--sql-samples", str(args.sql_samples), "--naive-samples", str(args.naive_samples)]
    cmd += ["--inproc-samples", str(args.inproc_samples), "--budget", str(args.budget)]
    if args.explain:
        cmd.append("--explain")
    before = load_average()
    out = subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True)
    result = None
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT ") :])
        else:
            log(line)
    if result is None:
        raise RuntimeError("the in-process run reported nothing")
    result["load_before"], result["load_after"] = before, load_average()
    return result


# --- HTTP --------------------------------------------------------------------------------------


def http(url: str, args) -> dict:
    logfile = str(Path(tempfile.gettempdir()) / "bench-kb-gunicorn.log")
    port = free_port()
    log(f"gunicorn on 127.0.0.1:{port} ({args.workers} workers x {args.threads} threads) ...")
    before = load_average()
    # api_bench's server: bench.settings on `url`, throttles raised, in-memory broker, no Redis.
    server = Server(url, port, args.workers, args.threads, logfile)
    results = {}
    try:
        from http.client import HTTPConnection

        conn = HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            for label, q, category in QUERIES:
                params = {"q": q, **({"category": category} if category else {})}
                path = f"{API}?{urllib.parse.urlencode(params)}"
                last = {}

                def get(path=path, last=last):
                    status, body = request(port, "GET", path, conn=conn)
                    if status != 200:
                        raise RuntimeError(f"GET {path}: {status} {body[:300]!r}")
                    last["body"] = body

                for _ in range(args.http_warmup):
                    get()
                samples = sample(get, args.http_samples, args.budget)
                body = last["body"]
                rows = len(json.loads(body)["results"])
                results[label] = {**summary(samples), "rows": rows, "bytes": len(body)}
                stats = results[label]
                log(
                    f"  {label:22} {q!r:26} HTTP {stats['p50']:6.1f} / {stats['p95']:6.1f} ms "
                    f"({rows} rows, {len(body):,} bytes)"
                )
        finally:
            conn.close()
    finally:
        server.stop()
    return {"queries": results, "load_before": before, "load_after": load_average()}


# --- report ------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(r: dict) -> None:
    pg, lite, web = r.get("postgres"), r.get("sqlite"), r.get("http")
    first = pg or lite
    log()
    log(
        f"## Knowledge search: {r.get('pg_articles', 0):,} articles on PostgreSQL "
        f"{pg['version'] if pg else '-'} (JIT {pg['jit'] if pg else '-'}), "
        f"{r.get('sqlite_articles', 0):,} on SQLite {lite['version'] if lite else '-'}; "
        f"{r['date']}; {r['cpus']} CPUs; load average "
        f"{first['load_before']} -> {(web or lite or pg)['load_after']}"
    )
    log()
    log(
        "| query | q | matches | PG SQL p50 / p95 | PG icontains p50 / p95 | ratio p50 | "
        "PG HTTP p50 / p95 | SQLite matches | SQLite SQL p50 / p95 | SQLite icontains p50 | "
        "ratio p50 | SQLite API in-process p50 / p95 |"
    )
    log("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for label, q, category in QUERIES:
        e = pg["queries"][label] if pg else None
        h = web["queries"][label] if web else None
        s = lite["queries"][label] if lite else None
        shown = q + (f" +category={category}" if category else "")
        cells = [label, f"`{shown}`"]
        if e:
            cells += [
                f"{e['matches']:,}",
                f"{e['sql']['p50']:.2f} / {e['sql']['p95']:.2f}",
                f"{e['naive_sql']['p50']:.1f} / {e['naive_sql']['p95']:.1f}",
                f"{e['ratio_p50']:.0f}",
            ]
        else:
            cells += ["-"] * 4
        cells.append(f"{h['p50']:.1f} / {h['p95']:.1f}" if h else "-")
        if s:
            cells += [
                f"{s['matches']:,}",
                f"{s['sql']['p50']:.2f} / {s['sql']['p95']:.2f}",
                f"{s['naive_sql']['p50']:.1f}",
                f"{s['ratio_p50']:.0f}",
                f"{s['api_inprocess']['p50']:.1f} / {s['api_inprocess']['p95']:.1f}",
            ]
        else:
            cells += ["-"] * 5
        log("| " + " | ".join(cells) + " |")
    log()
    for name, t in r["targets"].items():
        log(f"- {name}: {t['value']} (target {t['target']}) **{t['result']}**"
            + (f" — failing: {', '.join(t['failing'])}" if t["failing"] else ""))  # fmt: skip


def targets(r: dict) -> dict:
    out = {}

    def add(name, per_query, target, ok, fmt):
        failing = [f"{label} {fmt(v)}" for label, v in per_query.items() if not ok(v)]
        worst_label = (
            max(per_query, key=lambda k: per_query[k])
            if "ratio" not in name
            else min(per_query, key=lambda k: per_query[k])
        )
        out[name] = {
            "value": f"worst {worst_label!r} {fmt(per_query[worst_label])}",
            "target": target,
            "result": verdict(not failing),
            "failing": failing,
        }

    if r.get("http"):
        web = r["http"]["queries"]
        add("PostgreSQL HTTP p95", {k: v["p95"] for k, v in web.items()}, "p95 < 30 ms",
            lambda v: v < TARGETS["http_p95"], lambda v: f"{v:.1f} ms")  # fmt: skip
    if r.get("postgres"):
        pg = r["postgres"]["queries"]
        add("PostgreSQL SQL p95", {k: v["sql"]["p95"] for k, v in pg.items()}, "p95 < 5 ms",
            lambda v: v < TARGETS["sql_p95"], lambda v: f"{v:.2f} ms")  # fmt: skip
        add("PostgreSQL icontains ratio", {k: v["ratio_p50"] for k, v in pg.items()}, ">= 20x",
            lambda v: v >= TARGETS["ratio"], lambda v: f"{v:.1f}x")  # fmt: skip
    if r.get("sqlite"):
        lite = r["sqlite"]["queries"]
        add("SQLite API in-process p95", {k: v["api_inprocess"]["p95"] for k, v in lite.items()},
            "p95 < 30 ms", lambda v: v < TARGETS["http_p95"], lambda v: f"{v:.1f} ms")  # fmt: skip
        add("SQLite SQL p95", {k: v["sql"]["p95"] for k, v in lite.items()}, "p95 < 5 ms",
            lambda v: v < TARGETS["sql_p95"], lambda v: f"{v:.2f} ms")  # fmt: skip
        add("SQLite icontains ratio", {k: v["ratio_p50"] for k, v in lite.items()}, ">= 20x",
            lambda v: v >= TARGETS["ratio"], lambda v: f"{v:.1f}x")  # fmt: skip
    return out


def git_state() -> dict:
    def git(*a):
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return {
        "head": git("rev-parse", "--short", "HEAD"),
        "dirty_search_code": git("status", "--short", "--", "knowledge", "core/search", "config"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Knowledge base search benchmark")
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_KB_DATABASE_URL", DEFAULT_URL)
    )
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--sqlite", default=DEFAULT_SQLITE, help="folder of the SQLite database")
    parser.add_argument("--sqlite-articles", type=int, default=10_000)
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--reset", action="store_true", help="re-create both databases")
    parser.add_argument("--sql-samples", type=int, default=200, help="per query")
    parser.add_argument("--naive-samples", type=int, default=10, help="icontains, per query")
    parser.add_argument("--inproc-samples", type=int, default=50, help="ORM / test client")
    parser.add_argument("--http-samples", type=int, default=100, help="per query")
    parser.add_argument("--http-warmup", type=int, default=10)
    parser.add_argument(
        "--budget", type=float, default=5.0, help="seconds per query and kind (at least 20 samples)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE (PostgreSQL)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--inprocess", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.inprocess:
        print("RESULT " + json.dumps(inprocess(args), default=str), flush=True)
        return

    started = time.perf_counter()
    r = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "git": git_state(),
        "load_start": load_average(),
    }
    if not args.no_postgres:
        log(f"PostgreSQL: seeding {args.articles:,} articles (skipped if already there) ...")
        r["pg_seed"] = seed_articles.run(args.articles, url=args.database_url, reset=args.reset)
        r["pg_articles"] = r["pg_seed"]["articles"]
        log("PostgreSQL: SQL, icontains and in-process ...")
        r["postgres"] = run_inprocess(
            seed_articles.bench_env(seed_articles.pg_env(args.database_url)), args
        )
        if not args.no_http:
            r["http"] = http(args.database_url, args)
    if not args.no_sqlite:
        log(f"SQLite: seeding {args.sqlite_articles:,} articles in {args.sqlite} ...")
        r["sqlite_seed"] = seed_articles.run(
            args.sqlite_articles, sqlite=args.sqlite, reset=args.reset
        )
        r["sqlite_articles"] = r["sqlite_seed"]["articles"]
        log("SQLite: SQL, icontains and in-process ...")
        r["sqlite"] = run_inprocess(
            seed_articles.bench_env(seed_articles.sqlite_env(args.sqlite)), args
        )
    r["load_end"] = load_average()
    r["seconds"] = round(time.perf_counter() - started, 1)
    r["targets"] = targets(r)
    report(r)
    log(f"\n{r['seconds']:.0f} s; load average {r['load_start']} -> {r['load_end']}")
    if r.get("postgres") and r["postgres"]["queries"][QUERIES[0][0]].get("explain"):
        for label, e in r["postgres"]["queries"].items():
            log(f"\n--- EXPLAIN {label} ({e['q']!r})\n{e['explain']}")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2, default=str))


if __name__ == "__main__":
    main()
