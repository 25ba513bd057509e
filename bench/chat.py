"""Benchmark live chat: connected sockets, fan-out latency, messages persisted, replay.

One run, one server: a dedicated database (default `supportdesk_bench_chat`, re-created unless
`--keep`) gets a widget, one agent per chat and `--sockets / 2` chats; uvicorn (`--workers`,
default 2) serves `config.asgi` with channels-redis's pub/sub layer on `--redis-url`. Each chat
has two sockets: the visitor's (`/ws/chat/sessions/<id>/`, a socket ticket in the first frame)
and its agent's desk (`/ws/desk/`, the session cookie, subscribed to the chat). Visitors send
messages as a Poisson process at `--rate` messages a second in total, for `--seconds`:

- fan-out: from the visitor's send to the message frame at the agent's socket (the message is
  in the database by then: the consumer writes it, then publishes);
- persisted: from the send to the visitor's `ack` (its `post_message` committed);
- lost: sent and acked, but not at the agent within 6 s; duplicated: shown twice at the agent;
- replay: 100 messages written while a socket was away, from the auth frame to the 100th frame.

    .venv/bin/python bench/chat.py --sockets 1000 --rate 250 --seconds 60   # the issue's load
    .venv/bin/python bench/chat.py --sockets 20 --rate 10 --seconds 5       # a smoke run

Targets (issue 17): at 1,000 sockets and 250 msg/s fan-out p95 <= 50 ms with nothing lost,
persisted p95 <= 150 ms, replay of 100 <= 100 ms. `--embedded` runs one uvicorn worker with the
in-memory layer (no Redis), as `make run` does (the issue's relay figure is at 200 sockets).
"""

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/supportdesk_bench_chat"
ORIGIN = "http://127.0.0.1"


def log(line: str = "") -> None:
    print(line, flush=True)


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def setup_django(database_url: str, redis_url: str | None):
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    else:
        os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def recreate_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    for sql in (f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'):
        subprocess.run(["psql", admin, "-qc", sql], check=True)


def seed(chats: int):
    """A widget, `chats` agents (each online, one chat each) and their chats; returns, per chat,
    (public id, socket ticket, the agent's session cookie)."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from core.roles import Role
    from support.chat import services
    from support.models import AgentProfile, ChatWidget
    from tests.factories import UserFactory

    widget = ChatWidget.objects.create(
        name="Bench", public_key=f"bench-{uuid.uuid4().hex[:6]}", allowed_origins=[ORIGIN]
    )
    rows = []
    for n in range(chats):
        agent = UserFactory(roles=[Role.AGENT], email=f"bench-agent-{n}@example.com")
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
        rows.append((str(session.public_id), session, store.session_key))
    return widget, rows


def start_server(port: int, workers: int, env: dict) -> subprocess.Popen:
    command = [
        *(sys.executable, "-m", "uvicorn", "config.asgi:application"),
        *("--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"),
        *("--workers", str(workers), "--log-level", "warning"),
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


async def run_load(url, chats, rate, seconds):
    import websockets

    sent: dict[str, float] = {}
    acked: dict[str, float] = {}
    at_agent: dict[str, list[float]] = {}
    pairs = []

    async def agent_socket(sid, cookie, last_seq):
        ws = await websockets.connect(
            f"{url}/ws/desk/", origin=ORIGIN, additional_headers={"Cookie": f"sessionid={cookie}"}
        )
        await ws.send(json.dumps({"type": "subscribe", "session_id": sid, "last_seq": last_seq}))
        return ws

    async def visitor_socket(sid, ticket, last_seq):
        ws = await websockets.connect(f"{url}/ws/chat/sessions/{sid}/", origin=ORIGIN)
        await ws.send(json.dumps({"type": "auth", "ticket": ticket, "last_seq": last_seq}))
        return ws

    closed = []

    async def read_agent(ws):
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "message" and frame.get("client_msg_id") in sent:
                    at_agent.setdefault(frame["client_msg_id"], []).append(time.perf_counter())
        except websockets.ConnectionClosed as closing:
            closed.append(("agent", closing.rcvd.code if closing.rcvd else None))

    async def read_visitor(ws):
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "ack":
                    acked.setdefault(frame["client_msg_id"], time.perf_counter())
        except websockets.ConnectionClosed as closing:
            closed.append(("visitor", closing.rcvd.code if closing.rcvd else None))

    for sid, ticket, cookie, last_seq in chats:
        visitor = await visitor_socket(sid, ticket, last_seq)
        pairs.append((sid, visitor, await agent_socket(sid, cookie, last_seq)))
    readers = [asyncio.ensure_future(read_agent(a)) for _, _, a in pairs]
    readers += [asyncio.ensure_future(read_visitor(v)) for _, v, _ in pairs]
    await asyncio.sleep(1)
    log(f"  {len(pairs) * 2} sockets connected")

    rng = random.Random(7)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        await asyncio.sleep(rng.expovariate(rate))
        sid, visitor, _ = rng.choice(pairs)
        client_id = uuid.uuid4().hex
        sent[client_id] = time.perf_counter()
        await visitor.send(
            json.dumps({"type": "message", "client_msg_id": client_id, "body": "hi"})
        )
    await asyncio.sleep(6)
    for reader in readers:
        reader.cancel()
    for _, v, a in pairs:
        await v.close()
        await a.close()
    if closed:
        log(f"  {len(closed)} sockets closed by the server during the run: {closed[:5]}")

    fanout = [(at_agent[c][0] - t) * 1000 for c, t in sent.items() if c in at_agent]
    persisted = [(acked[c] - t) * 1000 for c, t in sent.items() if c in acked]
    return {
        "sockets": len(pairs) * 2,
        "sent": len(sent),
        "rate": len(sent) / seconds,
        "lost": sum(1 for c in sent if c in acked and c not in at_agent),
        "unacked": sum(1 for c in sent if c not in acked),
        "duplicated": sum(1 for times in at_agent.values() if len(times) > 1),
        "closed_early": len(closed),
        "fanout_ms": {p: pct(fanout, p) for p in (50, 95, 99)},
        "persisted_ms": {p: pct(persisted, p) for p in (50, 95, 99)},
    }


async def run_replay(url, sid, ticket, after):
    import websockets

    ws = await websockets.connect(f"{url}/ws/chat/sessions/{sid}/", origin=ORIGIN)
    started = time.perf_counter()
    await ws.send(json.dumps({"type": "auth", "ticket": ticket, "last_seq": after}))
    got = 0
    async for raw in ws:
        if json.loads(raw).get("type") == "message":
            got += 1
            if got == 100:
                break
    elapsed = (time.perf_counter() - started) * 1000
    await ws.close()
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=250)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--embedded", action="store_true", help="in-memory layer, one worker")
    parser.add_argument("--keep", action="store_true", help="do not re-create the database")
    parser.add_argument("--json")
    args = parser.parse_args()
    redis_url = None if args.embedded else args.redis_url
    workers = 1 if args.embedded else args.workers

    if not args.keep:
        recreate_database(args.database_url)
    setup_django(args.database_url, redis_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    chats = args.sockets // 2
    log(f"seeding {chats} chats")
    widget, rows = seed(chats)

    from support.chat import services

    port = 8000 + random.randrange(1000, 9000)
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "DATABASE_CONN_MAX_AGE": "0",
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "CACHE_KEY_PREFIX": f"bench-chat-{uuid.uuid4().hex[:6]}",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env.pop("REDIS_URL", None)
    server = start_server(port, workers, env)
    url = f"ws://127.0.0.1:{port}"
    try:
        import urllib.request

        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        chats_with_tickets = [
            (sid, services.issue_ws_ticket(s), cookie, s.last_seq) for sid, s, cookie in rows
        ]
        layer = "in-memory, 1 worker" if args.embedded else f"redis pub/sub, {workers} workers"
        log(f"load: {args.sockets} sockets, {args.rate}/s for {args.seconds}s ({layer})")
        load = asyncio.run(run_load(url, chats_with_tickets, args.rate, args.seconds))

        # Replay: 100 messages written while the visitor was away.
        sid, session, _ = rows[0]
        session.refresh_from_db()
        after = session.last_seq
        agent = session.agent
        for n in range(100):
            services.post_message(session=session, by=agent, client_msg_id=f"r-{n}", body=f"r{n}")
        replay = asyncio.run(run_replay(url, sid, services.issue_ws_ticket(session), after))
    finally:
        server.terminate()
        server.wait(timeout=30)

    result = {**load, "replay_100_ms": replay, "layer": layer}
    log("")
    log(
        "| sockets | msg/s | sent | lost | dup | fan-out p50/p95/p99 ms "
        "| persisted p50/p95/p99 ms | replay 100 |"
    )
    f, p = load["fanout_ms"], load["persisted_ms"]
    fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
    log(
        f"| {load['sockets']} | {load['rate']:.0f} | {load['sent']} | {load['lost']} | "
        f"{load['duplicated']} | {fmt(f[50])} / {fmt(f[95])} / {fmt(f[99])} | "
        f"{fmt(p[50])} / {fmt(p[95])} / {fmt(p[99])} | {replay:.1f} ms |"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
