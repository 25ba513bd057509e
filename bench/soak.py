"""Soak: sustained ticket creation and replies at concurrency 32, then a count of what was kept.

    .venv/bin/python bench/soak.py                  # 10 minutes (--minutes 1 for a trial)
    .venv/bin/python bench/soak.py --json /tmp/soak.json --keep

Builds its own database (`supportdesk_soak`: dropped and created, migrated, `seed_demo`), starts
its own `redis-server` on a free loopback port (broker, results, cache), gunicorn as in the
Procfile (`config/gunicorn.py`: 2 workers x 4 threads) and a Celery worker (prefork, 2 processes,
e-mail to the dummy backend), then drives the API from 32 threads, each with a keep-alive
connection and its own API token of the demo customer: 60% ticket creations, 40% replies to one
of the thread's own tickets. Every POST carries an Idempotency-Key and is retried with the same
key after a connection error, a 5xx or `idempotency_in_progress`, so a retried request is one
ticket or one message. Each acknowledged id is recorded with its key.

At the end: lost = acknowledged but not in the database, duplicated = a key with more than one
row (the key is written into the subject or body), extra = rows nobody acknowledged. The resident
memory (VmRSS from /proc) of every process (gunicorn master and workers, Celery master and
children, Redis) is sampled every minute and printed per minute. Throttles are raised for the
server (capacity, not policy). The outbox is given up to a minute to drain at the end.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import suppress
from http.client import HTTPConnection, HTTPException
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_bench import free_port  # noqa: E402
from bench.seed_tickets import ensure_database, log  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/supportdesk_soak"
CUSTOMER_EMAIL = "wile@acme.example"
TICKETS = "/api/v1/support/tickets/"
CREATE_SHARE = 0.6
MAX_TRIES = 6
REQUEST_TIMEOUT = 30
DRAIN_SECONDS = 300  # the longest the worker is given to empty the queue after the load


def environment(url: str, redis_url: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        CELERY_RESULT_BACKEND=redis_url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        DJANGO_HTTPS="false",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        API_THROTTLE_CREATE="1000000/min",
        API_THROTTLE_USER="1000000/min",
        API_THROTTLE_ANON="1000000/min",
    )
    env.setdefault("SECRET_KEY", "bench-only-not-secret-" + "x" * 40)
    return env


SEED = """
import json
import django
django.setup()
from django.core.management import call_command
call_command("seed_demo", verbosity=0)
from core.api.authentication import create_token
from core.models import User
customer = User.objects.get(email={email!r})
print("TOKENS " + json.dumps([create_token(user=customer, name=f"soak-{{i}}")[1]
                             for i in range({count})]))
"""


def prepare(url: str, env: dict, threads: int) -> list[str]:
    ensure_database(url, reset=True)
    log("manage.py migrate")
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"],
        env=env,
        cwd=ROOT,
        check=True,
    )
    log("seed_demo and API tokens")
    out = subprocess.run(
        [sys.executable, "-c", SEED.format(email=CUSTOMER_EMAIL, count=threads)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("TOKENS "))[7:])


# --- processes and their memory --------------------------------------------------------------


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def processes(roots: dict) -> dict[str, int]:
    """name -> pid: each root and its direct children (gunicorn and Celery workers)."""
    named = {}
    for name, pid in roots.items():
        named[name] = pid
        for index, child in enumerate(sorted(children(pid)), 1):
            named[f"{name}.{index}"] = child
    return named


def wait_http(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            conn = HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer /healthz")


# --- load ------------------------------------------------------------------------------------


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = Counter()
        self.errors = Counter()
        self.tickets = {}  # idempotency key -> ticket id
        self.messages = {}  # idempotency key -> message id
        self.per_minute = Counter()
        self.five_xx_per_minute = Counter()
        self.latencies = []

    def count(self, minute: int, status, latency: float) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.per_minute[minute] += 1
            if isinstance(status, int) and status >= 500:
                self.five_xx_per_minute[minute] += 1
            self.latencies.append(latency)


class Client(threading.Thread):
    def __init__(self, port, token, tally, started, stop_at):
        super().__init__(daemon=True)
        self.port, self.tally, self.started, self.stop_at = port, tally, started, stop_at
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.conn, self.own_tickets = None, []

    def post(self, path: str, payload: dict, key: str):
        """POST until acknowledged (or MAX_TRIES), always with the same Idempotency-Key."""
        for attempt in range(MAX_TRIES):
            begin = time.monotonic()
            minute = int((begin - self.started) // 60)
            try:
                if self.conn is None:
                    self.conn = HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
                self.conn.request(
                    "POST", path, json.dumps(payload), {**self.headers, "Idempotency-Key": key}
                )
                response = self.conn.getresponse()
                body = response.read()
                status = response.status
            except (OSError, HTTPException) as exc:
                self.tally.count(minute, type(exc).__name__, time.monotonic() - begin)
                self.conn = None
                time.sleep(0.2 * (attempt + 1))
                continue
            self.tally.count(minute, status, time.monotonic() - begin)
            if status in (200, 201):
                return json.loads(body)
            if status == 409 or status >= 500:
                time.sleep(0.2 * (attempt + 1))
                continue
            with self.tally.lock:
                self.tally.errors[f"{status} {body[:200]!r}"] += 1
            return None
        with self.tally.lock:
            self.tally.errors[f"gave up after {MAX_TRIES} tries"] += 1
        return None

    def run(self):
        rng = random.Random()
        while time.monotonic() < self.stop_at:
            key = uuid.uuid4().hex
            if not self.own_tickets or rng.random() < CREATE_SHARE:
                payload = {
                    "subject": f"Soak {key}",
                    "description": "<p>The export spins for ever since this morning.</p>",
                    "category": "technical",
                    "priority": rng.choice(["low", "medium", "high"]),
                }
                answer = self.post(TICKETS, payload, key)
                if answer is not None:
                    with self.tally.lock:
                        self.tally.tickets[key] = answer["id"]
                    self.own_tickets.append(answer["id"])
            else:
                ticket = rng.choice(self.own_tickets[-50:])
                payload = {"body": f"Any news? soak {key}"}
                answer = self.post(f"{TICKETS}{ticket}/messages/", payload, key)
                if answer is not None:
                    with self.tally.lock:
                        self.tally.messages[key] = answer["id"]


# --- counting what was kept ------------------------------------------------------------------


def reconcile(url: str, tally: Tally) -> dict:
    with psycopg.connect(url) as conn:
        tickets = conn.execute(
            "SELECT substr(subject, 6), array_agg(id) FROM support_ticket "
            "WHERE subject LIKE 'Soak %%' GROUP BY 1"
        ).fetchall()
        messages = conn.execute(
            "SELECT substring(body_text from 'soak ([0-9a-f]{32})'), array_agg(id) "
            "FROM support_ticketmessage WHERE body_text LIKE 'Any news? soak %%' GROUP BY 1"
        ).fetchall()
        outbox = dict(
            conn.execute("SELECT status, count(*) FROM core_outboxmessage GROUP BY 1").fetchall()
        )

    def compare(rows, acked):
        stored = dict(rows)
        return {
            "acknowledged": len(acked),
            "in_database": sum(len(ids) for ids in stored.values()),
            "lost": sum(1 for key, pk in acked.items() if pk not in stored.get(key, [])),
            "duplicated": sum(len(ids) - 1 for ids in stored.values() if len(ids) > 1),
            "unacknowledged": sum(len(ids) for key, ids in stored.items() if key not in acked),
        }

    return {
        "tickets": compare(tickets, tally.tickets),
        "messages": compare(messages, tally.messages),
        "outbox": outbox,
    }


def outbox_pending(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM core_outboxmessage WHERE status IN ('pending', 'sending')"
        ).fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--database-url", default=os.environ.get("SOAK_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--keep", action="store_true", help="keep the soak database afterwards")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    redis_port, web_port = free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    env = environment(args.database_url, redis_url)
    started_processes = []

    def spawn(name, command, **kwargs):
        log_file = (workdir / f"{name}.log").open("wb")
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, **kwargs
        )
        started_processes.append(process)
        return process

    try:
        redis_process = spawn(
            "redis",
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", str(workdir)],
        )
        tokens = prepare(args.database_url, env, args.concurrency)
        bin_dir = ROOT / ".venv" / "bin"
        web = spawn(
            "gunicorn",
            [str(bin_dir / "gunicorn"), "config.wsgi:application", "-c"]
            + [str(ROOT / "config" / "gunicorn.py"), "--bind", f"127.0.0.1:{web_port}"]
            + ["--access-logfile", "/dev/null"],
        )
        worker = spawn(
            "celery",
            [str(bin_dir / "celery"), "--app", "config", "worker", "--loglevel", "WARNING"]
            + ["--concurrency", "2", "--without-gossip", "--without-mingle"],
        )
        wait_http(web_port, time.monotonic() + 60)
        time.sleep(8)  # let the Celery children start before the first memory sample
        roots = {"gunicorn": web.pid, "celery": worker.pid, "redis": redis_process.pid}

        tally = Tally()
        started = time.monotonic()
        stop_at = started + args.minutes * 60
        log(
            f"soak: {args.minutes:g} min, concurrency {args.concurrency}, gunicorn on "
            f"127.0.0.1:{web_port}, Redis on {redis_port}, logs in {workdir}"
        )
        clients = [Client(web_port, t, tally, started, stop_at) for t in tokens]
        for client in clients:
            client.start()
        samples = []  # (minute, {process: rss KiB})
        queue = []  # (minute, Redis's own data in bytes, task messages waiting)
        broker = redis.Redis.from_url(redis_url)
        minute = 0
        while True:
            samples.append((minute, {n: rss_kib(p) for n, p in processes(roots).items()}))
            queue.append((minute, broker.info("memory")["used_memory"], broker.llen("celery")))
            if time.monotonic() >= stop_at:
                break
            minute += 1
            time.sleep(max(0.0, min(started + minute * 60, stop_at) - time.monotonic()))
        for client in clients:
            client.join(timeout=REQUEST_TIMEOUT * MAX_TRIES)
        load_seconds = time.monotonic() - started

        # The worker may trail the load: give it time to empty the queue, so what Redis holds
        # afterwards tells a leak from a backlog.
        drain_deadline = time.monotonic() + DRAIN_SECONDS
        while outbox_pending(args.database_url) and time.monotonic() < drain_deadline:
            time.sleep(1)
        drained_seconds = round(time.monotonic() - (drain_deadline - DRAIN_SECONDS), 1)
        after_drain = (broker.info("memory")["used_memory"], broker.llen("celery"))
        result = reconcile(args.database_url, tally)
        five_xx = sum(n for s, n in tally.statuses.items() if isinstance(s, int) and s >= 500)
        latencies = sorted(tally.latencies)
        result.update(
            minutes=args.minutes,
            concurrency=args.concurrency,
            load_seconds=round(load_seconds, 1),
            requests=sum(tally.statuses.values()),
            statuses={str(k): v for k, v in sorted(tally.statuses.items(), key=str)},
            five_xx=five_xx,
            client_errors=dict(tally.errors),
            p50_ms=round(latencies[len(latencies) // 2] * 1000, 1) if latencies else None,
            p99_ms=round(latencies[int(len(latencies) * 0.99)] * 1000, 1) if latencies else None,
            requests_per_minute={str(m): n for m, n in sorted(tally.per_minute.items())},
            five_xx_per_minute={str(m): n for m, n in sorted(tally.five_xx_per_minute.items())},
            rss_kib_per_minute=[{"minute": m, **rss} for m, rss in samples],
            redis_per_minute=[
                {"minute": m, "used_memory": used, "queued_tasks": waiting}
                for m, used, waiting in queue
            ],
            drain_seconds=drained_seconds,
            redis_after_drain={"used_memory": after_drain[0], "queued_tasks": after_drain[1]},
            loadavg=Path("/proc/loadavg").read_text().split()[:3],
        )
        report(result)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2))
    finally:
        for process in reversed(started_processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if not args.keep:
            drop(args.database_url)
        shutil.rmtree(workdir, ignore_errors=True)


def drop(url: str) -> None:
    from bench.seed_tickets import with_db

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def report(r: dict) -> None:
    print()
    print(
        f"{r['requests']:,} requests in {r['load_seconds']} s at concurrency {r['concurrency']}; "
        f"5xx: {r['five_xx']}; p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms; "
        f"statuses {r['statuses']}"
    )
    if r["client_errors"]:
        print(f"other answers: {r['client_errors']}")
    print()
    print("| kind | acknowledged | in database | lost | duplicated | unacknowledged |")
    print("|---|---|---|---|---|---|")
    for kind in ("tickets", "messages"):
        c = r[kind]
        print(
            f"| {kind} | {c['acknowledged']:,} | {c['in_database']:,} | {c['lost']} | "
            f"{c['duplicated']} | {c['unacknowledged']} |"
        )
    print(f"\noutbox at the end: {r['outbox']}")
    names = sorted({n for s in r["rss_kib_per_minute"] for n in s if n != "minute"})
    print()
    print("| minute | requests | 5xx | " + " | ".join(f"{n} MiB" for n in names) + " |")
    print("|---" * (len(names) + 3) + "|")
    for sample in r["rss_kib_per_minute"]:
        m = sample["minute"]
        cells = [f"{sample[n] / 1024:.1f}" if sample.get(n) is not None else "-" for n in names]
        print(
            f"| {m} | {r['requests_per_minute'].get(str(m - 1), 0) if m else 0:,} | "
            f"{r['five_xx_per_minute'].get(str(m - 1), 0) if m else 0} | "
            + " | ".join(cells)
            + " |"
        )
    print("\n| minute | Redis data MiB | task messages queued |\n|---|---|---|")
    for sample in r["redis_per_minute"]:
        print(
            f"| {sample['minute']} | {sample['used_memory'] / 2**20:.1f} | "
            f"{sample['queued_tasks']:,} |"
        )
    after = r["redis_after_drain"]
    print(
        f"after {r['drain_seconds']} s of draining: Redis data "
        f"{after['used_memory'] / 2**20:.1f} MiB, {after['queued_tasks']:,} task messages queued"
    )
    print(f"\nload average at the end: {' '.join(r['loadavg'])}")


if __name__ == "__main__":
    main()
