"""Benchmark the public status page and its JSON summary beside the no-op Django view.

One run, one server: a dedicated database (default `supportdesk_bench_status`, re-created) gets
50 components and 1,000 past incidents (each touching three components, with public and
internal updates, spread over the last 90 days) plus one active incident; gunicorn serves
`/status/`, `/status/summary.json` and `/bench/noop/` with the Redis cache (as in production);
the same bounded load (Python keep-alive threads) runs against each. In-process, the number of
statements of a cache-miss rebuild is counted at 100 and at 1,000 past incidents.

    .venv/bin/python bench/status_page.py --json /tmp/status.json   # ~1 minute

Targets (issue 13): each page at least half the no-op view's rate; the rebuild's statements the
same at both history sizes.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import seed_tickets  # noqa: E402
from bench.api_bench import free_port, load_python, request  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/supportdesk_bench_status"
PATHS = {"noop": "/bench/noop/", "status": "/status/", "summary": "/status/summary.json"}
BROWSER_ACCEPT_ENCODING = "gzip, deflate, br, zstd"  # what Chromium sends


def log(line: str = "") -> None:
    print(line, flush=True)


def seed(past: int, components: int, *, start_at: int = 0) -> None:
    """`past` resolved public incidents (numbers from `start_at`), written in bulk."""
    from django.utils import timezone

    from incidents.models import Component, Incident, IncidentComponent, IncidentUpdate

    if not Component.objects.exists():
        now = timezone.now()
        Component.objects.bulk_create(
            Component(name=f"Component {n:02d}", group=f"Group {n // 10}", order=n,
                      created_at=now - timedelta(days=365))
            for n in range(components)
        )  # fmt: skip
    ids = list(Component.objects.values_list("pk", flat=True))
    rng = random.Random(start_at)
    now = timezone.now()
    incidents = []
    for n in range(start_at, start_at + past):
        detected = now - timedelta(minutes=rng.randrange(10, 90 * 24 * 60))
        incidents.append(
            Incident(
                number=f"INC-19990101-{n:05d}",
                title=f"Past incident {n}",
                severity=rng.choice(["critical", "high", "medium", "low"]),
                status="closed",
                category="outage",
                impact="minor",
                detected_at=detected,
                acknowledged_at=detected + timedelta(minutes=5),
                resolved_at=detected + timedelta(minutes=rng.randrange(10, 240)),
                response_due_at=detected + timedelta(hours=1),
                resolution_due_at=detected + timedelta(hours=8),
            )
        )
    Incident.objects.bulk_create(incidents, batch_size=500)
    links, updates = [], []
    for incident in incidents:
        for component in rng.sample(ids, 3):
            state = rng.choice(["partial_outage", "major_outage"])
            links.append(IncidentComponent(incident=incident, component_id=component, state=state))
        for public in (True, False):
            updates.append(IncidentUpdate(incident=incident, status="resolved", is_public=public,
                                          body="Resolved." if public else "Internal note.",
                                          created_at=incident.resolved_at))  # fmt: skip
    IncidentComponent.objects.bulk_create(links, batch_size=1000)
    IncidentUpdate.objects.bulk_create(updates, batch_size=1000)


def rebuild_statements(client) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from incidents import statuspage

    counts = {}
    for name in ("status", "summary"):
        statuspage.invalidate()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(PATHS[name], HTTP_HOST="127.0.0.1")
        if response.status_code != 200:
            raise RuntimeError(f"{PATHS[name]}: {response.status_code} {response.content[:300]}")
        counts[name] = len(captured)
    return counts


def inprocess(args) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from incidents import services
    from incidents.models import Component
    from tests.factories import UserFactory

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # the pages name hashed files
    seed(100, args.components)
    client = Client()
    at_100 = rebuild_statements(client)
    seed(args.incidents - 100, args.components, start_at=100)
    at_1000 = rebuild_statements(client)
    agent = UserFactory(roles=["agent"])
    services.create_incident(
        by=agent, title="Exports fail", severity="high", category="outage", impact="major",
        components={Component.objects.order_by("pk").first(): "major_outage"},
    )  # fmt: skip
    return {"statements_at_100": at_100, f"statements_at_{args.incidents}": at_1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_STATUS_DATABASE_URL",
                                                                 DEFAULT_URL))  # fmt: skip
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7")
    )
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--components", type=int, default=50)
    parser.add_argument("--requests", type=int, default=3000, help="per path")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--plain", action="store_true", help="ask without Accept-Encoding")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--inprocess", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    env = seed_tickets.django_env(args.database_url)
    env.update(REDIS_URL=args.redis_url, CACHE_KEY_PREFIX=f"bench-status-{os.getpid()}",
               CELERY_BROKER_URL="memory://localhost/")  # fmt: skip
    if args.inprocess:
        os.environ.update(env)
        print(json.dumps(inprocess(args)))
        return

    import subprocess

    seed_tickets.ensure_database(args.database_url, reset=True)
    log(f"seeding {args.incidents:,} past incidents over {args.components} components")
    out = subprocess.run([sys.executable, __file__, "--inprocess", *sys.argv[1:]], env=env,
                         cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    if out.returncode:
        raise SystemExit(out.stderr)
    results = {"statements": json.loads(out.stdout.strip().splitlines()[-1])}

    port = free_port()
    logfile = str(Path(tempfile.gettempdir()) / "bench-status-gunicorn.log")
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi", "-c",
         str(ROOT / "config" / "gunicorn.py"), "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--threads", str(args.threads),
         "--error-logfile", logfile],
        env=env, cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"gunicorn did not start; see {logfile}")
            time.sleep(0.3)
        rates = {}
        # Every path is asked for as a browser asks (it takes gzip), unless --plain.
        headers = {} if args.plain else {"Accept-Encoding": BROWSER_ACCEPT_ENCODING}
        for name, path in PATHS.items():
            load_python(port, path, 200, args.concurrency, headers)  # warm up, fill the cache
            rates[name] = load_python(port, path, args.requests, args.concurrency, headers)
            rates[name]["bytes"] = len(request(port, "GET", path, headers)[1])
            log(f"{path:24} {rates[name]['rps']:8.0f} req/s  p50 {rates[name]['p50']:.1f} ms  "
                f"p99 {rates[name]['p99']:.1f} ms  errors {rates[name]['errors']}  "
                f"{rates[name]['bytes']:,} bytes")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
    noop = rates["noop"]["rps"]
    results["rates"] = rates
    results["ratios"] = {name: rates[name]["rps"] / noop for name in ("status", "summary")}
    counts = results["statements"]
    results["constant_statements"] = (
        counts["statements_at_100"] == counts[f"statements_at_{args.incidents}"]
    )
    ratios = {name: round(value, 2) for name, value in results["ratios"].items()}
    log(f"ratios to the no-op view: {json.dumps(ratios)}")
    log(f"statements of a rebuild: {json.dumps(counts)}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
