"""Benchmark live chat: connected sockets, fan-out, messages persisted, nothing lost, replay.

One run, one server. A dedicated database gets a widget, one agent per chat and `--sockets / 2`
chats; uvicorn serves `config.asgi`. Each chat has two sockets: the visitor's
(`/ws/chat/sessions/<id>/`, a socket ticket in the first frame) and its agent's desk
(`/ws/desk/`, the session cookie, subscribed to the chat). For `--seconds`, messages arrive as
a Poisson process at `--rate` a second in total, each in a random chat from a random side:

- the visitor's and most of the agents' are sent over their sockets (the consumer writes the
  message, then publishes);
- `--outside-share` of the agents' are written by this process through
  `services.post_message`, as a REST send served by gunicorn or a Celery task would be: with
  Redis they are published to the pub/sub layer, in the embedded mode they go through the
  database relay (`ChatEvent` rows the socket server tails every 250 ms).

Measured (all clocks in this process):
- fan-out: from the send to the message frame at the other side's socket;
- persisted: from the send to its `ack` (socket sends: `post_message` committed) or to the
  service's return (outside writes);
- lost: a message that did not reach both sockets of its chat within `--drain` seconds;
  duplicated: a socket shown the same message twice; unacked: sent and never acknowledged;
  then the database is checked: every acknowledged message stored once, every chat's numbers
  1..last with no gap;
- replay: `--replays` chats each get `--missed` messages (100) written while their visitor is
  away; a new visitor socket says its last number in the auth frame; from that frame to the
  100th message frame;
- the server's CPU (its processes' user + system time per 1,000 messages), this load
  generator's own CPU and its event loop's lag (when it is the bottleneck, the figures are
  the client's, not the server's).

The issue's load (production: the pub/sub layer on Redis, 2 uvicorn workers, PostgreSQL):

    .venv/bin/python bench/chat.py --sockets 1000 --rate 250 --seconds 60 --json /tmp/chat.json

The embedded relay (`make run`: SQLite, one uvicorn process, the in-memory layer, half of the
agents' messages written outside the socket server and relayed from the database):

    .venv/bin/python bench/chat.py --embedded --sockets 200 --rate 50 --seconds 60

A smoke run: `--sockets 50 --rate 20 --seconds 10` (add `--embedded` for the relay).

Targets (issue 17): at 1,000 sockets and 250 msg/s fan-out p95 <= 50 ms with nothing lost,
persisted p95 <= 150 ms, replay of 100 missed messages <= 100 ms.
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/supportdesk_bench_chat"
DEFAULT_SQLITE_DIR = Path(tempfile.gettempdir()) / "supportdesk_bench_chat"
ORIGIN = "http://127.0.0.1"
CONNECT_BATCH = 50


def log(line: str = "") -> None:
    print(line, flush=True)


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def summary(values) -> dict:
    return {
        "n": len(values),
        "p50": pct(values, 50),
        "p95": pct(values, 95),
        "p99": pct(values, 99),
        "max": max(values) if values else None,
    }


# --- the database and the server ---------------------------------------------------------------


def database_env(args) -> dict:
    """The environment both this process and the server use for the database and the layer."""
    env = {"DJANGO_SETTINGS_MODULE": "bench.settings"}
    if args.embedded:
        env["DJANGO_VAR_DIR"] = str(args.sqlite_dir)
        env["DATABASE_URL"] = ""  # SQLite in DJANGO_VAR_DIR, as `make run`
        env["REDIS_URL"] = ""  # in-memory layer, the database relay
    else:
        env["DATABASE_URL"] = args.database_url
        env["REDIS_URL"] = args.redis_url
    return env


def recreate_database(args) -> None:
    if args.embedded:
        shutil.rmtree(args.sqlite_dir, ignore_errors=True)
        args.sqlite_dir.mkdir(parents=True)
        return
    url = args.database_url
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    for sql in (f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'):
        subprocess.run(["psql", admin, "-qc", sql], check=True)


def setup_django(env: dict) -> None:
    for name, value in env.items():
        if value:
            os.environ[name] = value
        else:
            os.environ.pop(name, None)
    import django

    django.setup()


def seed(chats: int):
    """A widget, `chats` agents (each online, one chat each) and their chats; returns, per chat,
    (public id, session, agent, the agent's session cookie)."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from core.roles import Role, is_staff_member
    from support.chat import services
    from support.models import AgentProfile, ChatWidget
    from tests.factories import UserFactory

    widget = ChatWidget.objects.create(
        name="Bench", public_key=f"bench-{uuid.uuid4().hex[:6]}", allowed_origins=[ORIGIN]
    )
    rows = []
    for n in range(chats):
        agent = UserFactory(roles=[Role.AGENT], email=f"bench-agent-{n}@example.com")
        is_staff_member(agent)  # roles cached on the instance the outside writes use
        AgentProfile.objects.update_or_create(
            user=agent,
            defaults={"max_concurrent_chats": 1, "last_seen_at": timezone.now()},
        )
        session, _ = services.start_session(
            widget=widget, visitor_email=f"bench-visitor-{n}@example.com"
        )
        # Nobody else is eligible while this agent is the only free one: chats pair up 1:1.
        AgentProfile.objects.filter(user=agent).update(chat_enabled=False)
        store = SessionStore()
        store["_auth_user_id"] = str(agent.pk)
        store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        store["_auth_user_hash"] = agent.get_session_auth_hash()
        store.create()
        session.refresh_from_db()
        assert session.agent_id == agent.pk, "seeding: a chat went to another agent"
        rows.append((str(session.public_id), session, agent, store.session_key))
    return widget, rows


def start_server(port: int, workers: int, env: dict) -> subprocess.Popen:
    command = [
        *(sys.executable, "-m", "uvicorn", "config.asgi:application"),
        *("--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"),
        *("--workers", str(workers), "--log-level", "warning"),
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def wait_for_server(port: int) -> None:
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the server did not come up")


def tree_cpu_seconds(root_pid: int) -> float:
    """User + system CPU seconds of `root_pid` and every process below it (/proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    wanted, total, grew = {root_pid}, 0, True
    while grew:
        grew = False
        for pid, (ppid, _) in stats.items():
            if ppid in wanted and pid not in wanted:
                wanted.add(pid)
                grew = True
    for pid in wanted:
        if pid in stats:
            total += stats[pid][1]
    return total / tick


# --- the load -----------------------------------------------------------------------------------


class Load:
    """The sockets of the run and what each saw."""

    def __init__(self, url: str):
        self.url = url
        self.sent: dict[str, float] = {}  # client id -> send time
        self.path: dict[str, str] = {}  # client id -> "socket" or "outside"
        self.sender: dict[str, str] = {}  # client id -> "visitor" or "agent"
        self.acked: dict[str, float] = {}
        self.seen: dict[tuple[str, str], list[float]] = {}  # (client id, side) -> arrivals
        self.errors: list[dict] = []
        self.closed: list[tuple[str, int | None]] = []

    async def connect_visitor(self, sid, session, last_seq):
        import websockets
        from channels.db import database_sync_to_async

        from support.chat import services

        # Issued just before the connect: a ticket is valid 60 seconds.
        ticket = await database_sync_to_async(services.issue_ws_ticket)(session)
        ws = await websockets.connect(f"{self.url}/ws/chat/sessions/{sid}/", origin=ORIGIN)
        await ws.send(json.dumps({"type": "auth", "ticket": ticket, "last_seq": last_seq}))
        return ws

    async def connect_agent(self, sid, cookie, last_seq):
        import websockets

        ws = await websockets.connect(
            f"{self.url}/ws/desk/",
            origin=ORIGIN,
            additional_headers={"Cookie": f"sessionid={cookie}"},
        )
        await ws.send(json.dumps({"type": "subscribe", "session_id": sid, "last_seq": last_seq}))
        return ws

    async def read(self, ws, side: str):
        import websockets

        try:
            async for raw in ws:
                now = time.perf_counter()
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "message":
                    client_id = frame.get("client_msg_id")
                    if client_id in self.sent:
                        self.seen.setdefault((client_id, side), []).append(now)
                elif kind == "ack":
                    self.acked.setdefault(frame["client_msg_id"], now)
                elif kind == "error":
                    self.errors.append(frame)
        except websockets.ConnectionClosed as closing:
            self.closed.append((side, closing.rcvd.code if closing.rcvd else None))


async def event_loop_lag(samples: list, stop: asyncio.Event, every: float = 0.05):
    """How late a 50 ms sleep wakes up: the load generator's own saturation."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(every)
        samples.append((time.perf_counter() - started - every) * 1000)


async def run_load(load: Load, chats, *, rate, seconds, outside_share, drain, executor):
    from support.chat import services

    pairs = []
    for start in range(0, len(chats), CONNECT_BATCH):
        batch = chats[start : start + CONNECT_BATCH]
        visitors = await asyncio.gather(
            *(load.connect_visitor(sid, session, session.last_seq) for sid, session, *_ in batch)
        )
        agents = await asyncio.gather(
            *(
                load.connect_agent(sid, cookie, session.last_seq)
                for sid, session, _, cookie in batch
            )
        )
        for (sid, session, agent, _), visitor, desk in zip(batch, visitors, agents, strict=True):
            pairs.append((sid, session, agent, visitor, desk))
    readers = [asyncio.ensure_future(load.read(v, "visitor")) for *_, v, _ in pairs]
    readers += [asyncio.ensure_future(load.read(a, "agent")) for *_, a in pairs]
    await asyncio.sleep(2)  # the state frames and replays of the connects
    log(f"  {len(pairs) * 2} sockets connected")

    lag: list[float] = []
    stop = asyncio.Event()
    lag_task = asyncio.ensure_future(event_loop_lag(lag, stop))
    loop = asyncio.get_running_loop()
    outside: list[asyncio.Future] = []

    def write_outside(client_id, session, agent):
        services.post_message(session=session, by=agent, client_msg_id=client_id, body="hello")
        return time.perf_counter()

    async def outside_send(client_id, session, agent):
        load.acked[client_id] = await loop.run_in_executor(
            executor, write_outside, client_id, session, agent
        )

    rng = random.Random(7)
    started = time.perf_counter()
    next_at = started
    while True:
        next_at += rng.expovariate(rate)
        if next_at - started > seconds:
            break
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        sid, session, agent, visitor, desk = rng.choice(pairs)
        client_id = uuid.uuid4().hex
        side = rng.choice(("visitor", "agent"))
        load.sender[client_id] = side
        load.sent[client_id] = time.perf_counter()
        if side == "agent" and rng.random() < outside_share:
            load.path[client_id] = "outside"
            outside.append(asyncio.ensure_future(outside_send(client_id, session, agent)))
            continue
        load.path[client_id] = "socket"
        frame = {"type": "message", "client_msg_id": client_id, "body": "hello"}
        if side == "agent":
            frame["session_id"] = sid
        await (visitor if side == "visitor" else desk).send(json.dumps(frame))
    elapsed = time.perf_counter() - started
    if outside:
        await asyncio.gather(*outside, return_exceptions=True)
    await asyncio.sleep(drain)
    stop.set()
    await lag_task
    for reader in readers:
        reader.cancel()
    for *_, v, a in pairs:
        await v.close()
        await a.close()
    return elapsed, lag


def analyse(load: Load, elapsed: float) -> dict:
    other = {"visitor": "agent", "agent": "visitor"}
    by_path: dict[str, list[float]] = {"socket": [], "outside": []}
    persisted: dict[str, list[float]] = {"socket": [], "outside": []}
    lost = duplicated = 0
    for client_id, at in load.sent.items():
        path = load.path[client_id]
        theirs = load.seen.get((client_id, other[load.sender[client_id]]))
        if theirs:
            by_path[path].append((theirs[0] - at) * 1000)
        for side in ("visitor", "agent"):
            arrivals = load.seen.get((client_id, side), [])
            if not arrivals and client_id in load.acked:
                lost += 1
            duplicated += len(arrivals) > 1
        if client_id in load.acked:
            persisted[path].append((load.acked[client_id] - at) * 1000)
    return {
        "sent": len(load.sent),
        "rate": len(load.sent) / elapsed if elapsed else 0,
        "outside": sum(1 for p in load.path.values() if p == "outside"),
        "lost_deliveries": lost,
        "duplicated_deliveries": duplicated,
        "unacked": sum(1 for c in load.sent if c not in load.acked),
        "errors": len(load.errors),
        "closed_early": len(load.closed),
        "fanout_ms": summary(by_path["socket"] + by_path["outside"]),
        "fanout_socket_ms": summary(by_path["socket"]),
        "fanout_outside_ms": summary(by_path["outside"]),
        "persisted_ms": summary(persisted["socket"] + persisted["outside"]),
    }


def check_database(load: Load, sessions) -> dict:
    """Every acknowledged message stored once; every chat's numbers 1..last_seq, no gap."""
    from django.db.models import Count, Max

    from support.models import ChatMessage, ChatSession

    ids = list(load.acked)
    stored = 0
    for start in range(0, len(ids), 1000):
        stored += ChatMessage.objects.filter(client_msg_id__in=ids[start : start + 1000]).count()
    numbers = (
        ChatMessage.objects.filter(session__in=[s.pk for s in sessions])
        .values("session_id")
        .annotate(n=Count("pk"), top=Max("seq"))
    )
    last = dict(
        ChatSession.objects.filter(pk__in=[s.pk for s in sessions]).values_list("pk", "last_seq")
    )
    gaps = sum(1 for row in numbers if not row["n"] == row["top"] == last[row["session_id"]])
    return {"acked": len(ids), "stored": stored, "chats_with_gaps": gaps}


async def run_replay(url, sid, ticket, after, missed):
    import websockets

    ws = await websockets.connect(f"{url}/ws/chat/sessions/{sid}/", origin=ORIGIN)
    started = time.perf_counter()
    await ws.send(json.dumps({"type": "auth", "ticket": ticket, "last_seq": after}))
    got = 0
    async for raw in ws:
        if json.loads(raw).get("type") == "message":
            got += 1
            if got == missed:
                break
    elapsed = (time.perf_counter() - started) * 1000
    await ws.close()
    return elapsed


def replays(url, rows, *, count, missed) -> list[float]:
    """`missed` messages written while each of `count` visitors is away, then their resume."""
    from support.chat import services

    times = []
    for sid, session, agent, _ in rows[:count]:
        session.refresh_from_db()
        after = session.last_seq
        for n in range(missed):
            services.post_message(session=session, by=agent, client_msg_id=f"r-{n}", body=f"r{n}")
        times.append(
            asyncio.run(run_replay(url, sid, services.issue_ws_ticket(session), after, missed))
        )
    return times


# --- the run ------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--sockets", type=int, default=1000, help="two per chat")
    parser.add_argument("--rate", type=float, default=250, help="messages a second, in total")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (Redis mode)")
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="as `make run`: SQLite, the in-memory layer, one worker, the database relay",
    )
    parser.add_argument("--sqlite-dir", type=Path, default=DEFAULT_SQLITE_DIR)
    parser.add_argument(
        "--outside-share",
        type=float,
        default=None,
        help="share of the agents' messages written outside the socket server "
        "(default 0.5 embedded, 0 with Redis)",
    )
    parser.add_argument("--drain", type=float, default=6.0, help="seconds to wait for stragglers")
    parser.add_argument("--replays", type=int, default=10)
    parser.add_argument("--missed", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="do not re-create the database")
    parser.add_argument("--json")
    args = parser.parse_args()
    workers = 1 if args.embedded else args.workers
    outside_share = (
        args.outside_share if args.outside_share is not None else (0.5 if args.embedded else 0.0)
    )
    if args.sockets < 2 or args.sockets // 2 < args.replays:
        raise SystemExit("--sockets must give at least --replays chats")

    env = database_env(args)
    if not args.keep:
        recreate_database(args)
    setup_django(env)
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    chats = args.sockets // 2
    log(f"seeding {chats} chats")
    _, rows = seed(chats)
    connections.close_all()

    port = 8000 + random.randrange(1000, 9000)
    server_env = {
        **os.environ,
        **{k: v for k, v in env.items() if v},
        "CACHE_KEY_PREFIX": f"bench-chat-{uuid.uuid4().hex[:6]}",
    }
    for name, value in env.items():
        if not value:
            server_env.pop(name, None)
    server = start_server(port, workers, server_env)
    url = f"ws://127.0.0.1:{port}"
    layer = (
        "embedded: SQLite, in-memory layer + database relay, 1 worker"
        if args.embedded
        else f"redis pub/sub, PostgreSQL, {workers} workers"
    )
    executor = ThreadPoolExecutor(max_workers=4)
    try:
        wait_for_server(port)
        log(
            f"load: {args.sockets} sockets, {args.rate}/s for {args.seconds}s ({layer}; "
            f"{outside_share:.0%} of the agents' messages from outside the socket server)"
        )
        load = Load(url)
        cpu_before, own_before = tree_cpu_seconds(server.pid), time.process_time()
        elapsed, lag = asyncio.run(
            run_load(
                load,
                rows,
                rate=args.rate,
                seconds=args.seconds,
                outside_share=outside_share,
                drain=args.drain,
                executor=executor,
            )
        )
        cpu = tree_cpu_seconds(server.pid) - cpu_before
        own = time.process_time() - own_before
        result = analyse(load, elapsed)
        result["database"] = check_database(load, [session for _, session, _, _ in rows])
        log(f"replay: {args.replays} chats, {args.missed} missed messages each")
        replay = replays(url, rows, count=args.replays, missed=args.missed)
    finally:
        executor.shutdown()
        server.terminate()
        server.wait(timeout=30)

    sent = max(result["sent"], 1)
    result.update(
        {
            "layer": layer,
            "sockets": args.sockets,
            "seconds": args.seconds,
            "replay_ms": summary(replay),
            "server_cpu_s_per_1000_messages": cpu / sent * 1000,
            "server_cpu_share": cpu / (elapsed + args.drain) / (os.cpu_count() or 1),
            "client_cpu_s": own,
            "client_loop_lag_ms": summary(lag),
            "load_average": os.getloadavg(),
        }
    )
    fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
    triple = lambda s: f"{fmt(s['p50'])} / {fmt(s['p95'])} / {fmt(s['p99'])}"  # noqa: E731
    log("")
    log(
        "| sockets | msg/s | sent | lost | dup | unacked | fan-out p50/p95/p99 ms "
        "| persisted p50/p95/p99 ms | replay of 100 p50/p95/max ms |"
    )
    log(
        f"| {args.sockets} | {result['rate']:.0f} | {result['sent']} | "
        f"{result['lost_deliveries']} | {result['duplicated_deliveries']} | {result['unacked']} | "
        f"{triple(result['fanout_ms'])} | {triple(result['persisted_ms'])} | "
        f"{fmt(result['replay_ms']['p50'])} / {fmt(result['replay_ms']['p95'])} / "
        f"{fmt(result['replay_ms']['max'])} |"
    )
    if result["outside"]:
        log(
            f"fan-out of the {result['outside']} outside writes: "
            f"{triple(result['fanout_outside_ms'])} ms; over sockets: "
            f"{triple(result['fanout_socket_ms'])} ms"
        )
    db = result["database"]
    log(
        f"database: {db['stored']} of {db['acked']} acknowledged messages stored, "
        f"{db['chats_with_gaps']} chats with a gap; errors {result['errors']}, "
        f"sockets closed early {result['closed_early']}"
    )
    log(
        f"server CPU {result['server_cpu_s_per_1000_messages']:.2f} s per 1,000 messages "
        f"({result['server_cpu_share']:.0%} of the machine); load generator CPU "
        f"{own:.1f} s, its loop lag p95 {fmt(result['client_loop_lag_ms']['p95'])} ms; "
        f"load average {result['load_average'][0]:.1f}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
