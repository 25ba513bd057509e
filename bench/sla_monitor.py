"""Benchmark of the SLA monitor (support.monitor.run_monitor) at 10,000 and 1,000,000 open tickets.

    .venv/bin/python bench/sla_monitor.py                       # 10,000 and 1,000,000 tickets
    .venv/bin/python bench/sla_monitor.py --tickets 10000       # a quick trial
    .venv/bin/python bench/sla_monitor.py --explain             # also EXPLAIN ANALYZE the queries
    .venv/bin/python bench/sla_monitor.py --mix assigned        # the first setup (see below)
    .venv/bin/python bench/sla_monitor.py --tickets 10000 --profile /tmp/k.prof  # cProfile (iii)

Uses its own database (default `supportdesk_bench_sla`, created and migrated if missing) and Redis
db 12 (`BENCH_REDIS_URL`) for the deliveries the monitor publishes (flushed before and after).
For each size it seeds N open tickets with SQL (`INSERT ... SELECT generate_series`), SLA fields
filled as the services fill them (policy set, targets, due and warning instants in the future,
flags false, active statuses). Two mixes:

  edges (default): high-priority tickets (60/480 min), a third assigned to an agent, a third
        unassigned in a team of three (the team hears of the breach), a third with no assignee
        and no team (the on-duty lead hears of it); escalation level 1 at once notifies a lead,
        reassigns to an escalation team of two and raises the priority to urgent (a new policy
        and the clocks recomputed from the ticket's start);
  assigned: urgent tickets (15/240 min) all assigned to one agent, level 1 notifying a lead
        (the setup of the first runs).

Then it measures in the same process:

  (i)   run_monitor with nothing due: p50 of --runs runs (target < 50 ms);
  (ii)  a run where exactly 100 tickets breach (their response due time moved into the past with
        one UPDATE): p50 of 3 rounds; target: about as long at 1M as at 10k;
  (iii) per-breach cost = (run with K breaches - empty run) / K, K = 1000, each breach with its
        event, notifications (in-app + e-mail to its watchers) and escalation (level 1, delay 0,
        as the mix says): target < 2 ms per breach.

The tickets of (ii) and (iii) are already warned, so each one changes state once (one breach,
then its escalation in the same run); making them due also moves their creation back by their
response target, as if they had waited that long, so a raised priority keeps them breached.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/supportdesk_bench_sla"
# The worker tests use db 11-13: a bench run beside them takes another (BENCH_REDIS_URL).
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
CHUNK = 100_000
EMPTY_TARGET_MS = 50.0
RATIO_TARGET = 1.5  # "about as long at 1M as at 10k"
PER_BREACH_TARGET_MS = 2.0


def configure(url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret-" + "x" * 40)
    os.environ["REDIS_URL"] = REDIS_URL
    os.environ["CELERY_BROKER_URL"] = REDIS_URL
    os.environ["CELERY_RESULT_BACKEND"] = REDIS_URL
    os.environ["SLACK_WEBHOOK_URL"] = ""
    os.environ["TEAMS_WEBHOOK_URL"] = ""
    os.environ["DJANGO_HTTPS"] = "false"
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")


def create_database(url: str) -> None:
    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=os.environ,
        check=True,
    )


@dataclass
class Setup:
    priority: str
    policy_id: int
    response_minutes: int
    resolution_minutes: int
    agent_id: int
    team_id: int | None  # the team of the unassigned tickets (None: all assigned)


def _user(email, name, *, roles=(), available=True):
    from django.contrib.auth.models import Group

    from core.models import User
    from support.models import AgentProfile

    user, _ = User.objects.get_or_create(email=email, defaults={"full_name": name})
    user.groups.set([Group.objects.get(name=role) for role in roles])
    AgentProfile.objects.update_or_create(
        user=user, defaults={"status": "available" if available else "away"}
    )
    return user


def setup_policies(mix: str) -> Setup:
    """Agents, leads, teams, and the policies of the mix (24/7), escalating at once to level 1."""
    from support.models import EscalationLevel, EscalationPolicy, SLAPolicy, Team

    agent = _user("sla-bench-agent@example.com", "Bench Agent", roles=["agent"])
    lead = _user("sla-bench-lead@example.com", "Bench Lead", roles=["support_lead"])
    # The lead on duty hears of breaches nobody owns; the one away does not.
    _user("sla-bench-duty@example.com", "Bench Duty Lead", roles=["support_lead"])
    _user("sla-bench-away@example.com", "Bench Away Lead", roles=["support_lead"], available=False)
    queue, _ = Team.objects.get_or_create(slug="sla-bench-queue", defaults={"name": "Bench queue"})
    queue.members.set(
        [_user(f"sla-bench-queue{i}@example.com", f"Queue {i}", roles=["agent"]) for i in range(3)]
    )
    escalated, _ = Team.objects.get_or_create(
        slug="sla-bench-escalation", defaults={"name": "Bench escalation"}
    )
    escalated.members.set(
        [
            _user(f"sla-bench-esc{i}@example.com", f"Escalation {i}", roles=["agent"])
            for i in range(2)
        ]
    )
    edges = mix == "edges"
    escalation, _ = EscalationPolicy.objects.get_or_create(name=f"Bench escalation ({mix})")
    level, _ = EscalationLevel.objects.update_or_create(
        policy=escalation,
        level=1,
        defaults={
            "delay_minutes": 0,
            "reassign_team": escalated if edges else None,
            "raise_priority": edges,
        },
    )
    level.notify_users.set([lead])
    targets = {"urgent": (15, 240), "high": (60, 480)}
    policies = {}
    for priority, (response, resolution) in targets.items():
        policies[priority], _ = SLAPolicy.objects.update_or_create(
            priority=priority,
            customer_tier="",
            is_active=True,
            defaults={
                "name": f"{priority} policy",
                "first_response_minutes": response,
                "resolution_minutes": resolution,
                "escalation_policy": escalation,
                "auto_escalate": True,
            },
        )
    priority = "high" if edges else "urgent"
    return Setup(
        priority=priority,
        policy_id=policies[priority].pk,
        response_minutes=targets[priority][0],
        resolution_minutes=targets[priority][1],
        agent_id=agent.pk,
        team_id=queue.pk if edges else None,
    )


def reset_and_seed(n: int, setup: Setup) -> float:
    """N open tickets, all clocks running and due in the future; returns seconds taken.

    With a team (the edges mix) ticket g is assigned if g % 3 = 0, unassigned in the team if
    g % 3 = 1, and has neither if g % 3 = 2; otherwise every ticket is assigned."""
    from django.db import connection, transaction

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE support_ticketevent, support_ticketescalation, core_outboxmessage,"
            " core_notification, support_ticket RESTART IDENTITY CASCADE"
        )
    # The clocks of the services (24/7, warning at 80%): response due R min after creation,
    # resolution S min (the policy's targets). Creation is spread over the last ~10 minutes,
    # and due times pushed a day or more ahead (so nothing is due); the instants stay distinct
    # and index-ordered.
    statuses = "(ARRAY['open','assigned','in_progress','waiting_on_internal'])"
    if setup.team_id is None:
        owner = "%(agent)s, NULL::bigint"
    else:
        owner = (
            "CASE WHEN g %% 3 = 0 THEN %(agent)s END,"
            " CASE WHEN g %% 3 = 1 THEN %(team)s::bigint END"
        )
    for start in range(1, n + 1, CHUNK):
        stop = min(n, start + CHUNK - 1)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO support_ticket (
                    number, subject, description, description_text, customer_email,
                    customer_name, priority, status, channel, assigned_to_id, team_id,
                    sla_policy_id,
                    response_target_minutes, resolution_target_minutes, created_at, updated_at,
                    first_response_due_at, response_warn_at, resolution_due_at,
                    resolution_warn_at, sla_due_at, sla_paused_minutes, sla_pauses,
                    response_warned, response_breached, resolution_warned, resolution_breached,
                    escalation_level, satisfaction_comment, sla_override_reason
                )
                SELECT 'SLA-' || g, 'Export to CSV never finishes ' || g, '', '',
                    'customer' || (g %% 5000) || '@example.com', '', %(priority)s,
                    CASE WHEN g %% 3 = 0 OR %(team)s::bigint IS NULL
                        THEN {statuses}[1 + g %% 4] ELSE 'open' END,
                    'web', {owner}, %(policy)s, %(r)s, %(s)s, c, c,
                    c + %(r)s * interval '1 min', c + %(r)s * 0.8 * interval '1 min',
                    c + %(s)s * interval '1 min', c + %(s)s * 0.8 * interval '1 min',
                    c + %(r)s * interval '1 min',
                    0, '[]'::jsonb, false, false, false, false, 0, '', ''
                FROM generate_series(%(start)s, %(stop)s) AS g,
                    LATERAL (SELECT now() + interval '1 day' + g * interval '1 second' AS c) t
                """,
                {
                    "agent": setup.agent_id,
                    "team": setup.team_id,
                    "priority": setup.priority,
                    "policy": setup.policy_id,
                    "r": setup.response_minutes,
                    "s": setup.resolution_minutes,
                    "start": start,
                    "stop": stop,
                },
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE support_ticket")
    return time.perf_counter() - started


def make_due(count: int, n: int, round_: int) -> list[int]:
    """`count` warned tickets spread over the table whose response is now overdue (created
    their response target ago, as if they had waited that long)."""
    from django.db import connection

    step = max(1, n // count)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE support_ticket
               SET response_warned = true,
                   created_at = now() - interval '1 minute'
                       - response_target_minutes * interval '1 minute',
                   first_response_due_at = now() - interval '1 minute',
                   response_warn_at = now() - interval '4 minute'
             WHERE id IN (
                SELECT id FROM support_ticket
                 WHERE NOT response_breached AND NOT response_warned AND (id + %s) %% %s = 0
                 ORDER BY id LIMIT %s)
            RETURNING id
            """,
            [round_, step, count],
        )
        ids = [row[0] for row in cursor.fetchall()]
    assert len(ids) == count, (len(ids), count)
    return ids


def backend_cpu_seconds() -> float | None:
    """CPU time of this connection's PostgreSQL backend (a local server whose /proc we can read)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_run(profile: str | None = None):
    """(wall ms, run, statements, CPU ms of this process and its database backend, CPU ms of
    the backend alone).

    With `profile` the run goes under cProfile (its times inflated) and the stats go there."""
    from django.db import connection

    from support.monitor import run_monitor

    count = 0

    def counter(execute, sql, params, many, context):
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    backend_before = backend_cpu_seconds()
    with connection.execute_wrapper(counter):
        cpu_before = time.process_time()
        started = time.perf_counter()
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            run = profiler.runcall(run_monitor)
            profiler.dump_stats(profile)
        else:
            run = run_monitor()
        elapsed = (time.perf_counter() - started) * 1000
        cpu = time.process_time() - cpu_before
    backend_after = backend_cpu_seconds()
    backend = 0.0
    if backend_before is not None and backend_after is not None:
        backend = backend_after - backend_before
    return elapsed, run, count, (cpu + backend) * 1000, backend * 1000


def empty_p50(runs: int) -> float:
    times = []
    for _ in range(runs):
        elapsed, run, _, cpu, backend = timed_run()
        assert (run.warned, run.breached, run.escalated) == (0, 0, 0), run
        times.append((elapsed, cpu, backend))
    return tuple(statistics.median(t[i] for t in times) for i in range(3))


def outbox_rows() -> int:
    from core.models import OutboxMessage

    return OutboxMessage.objects.count()


def run_with_breaches(count: int, n: int, round_: int, profile: str | None = None):
    make_due(count, n, round_)
    before = outbox_rows()
    elapsed, run, queries, cpu, backend = timed_run(profile)
    assert (run.warned, run.breached, run.escalated) == (0, count, count), run
    return elapsed, queries, outbox_rows() - before, cpu, backend


def explain() -> str:
    """EXPLAIN ANALYZE of each query the monitor selects with (in a rolled-back transaction)."""
    from django.db import transaction
    from django.utils import timezone

    from support import monitor

    now = timezone.now()
    out = []
    queries = [
        (f"{check.clock} {check.stage}", monitor.due_ids(check, now)) for check in monitor.CHECKS
    ]
    queries.append(("escalations due", monitor.escalation_ids(now)))
    for name, queryset in queries:
        with transaction.atomic():
            plan = queryset.explain(analyze=True, buffers=True)
            transaction.set_rollback(True)
        out.append(f"-- {name}\n{plan}")
    return "\n\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--tickets", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=9, help="empty runs per size (p50)")
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--k", type=int, default=1000, help="breaches of the per-breach run")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--mix", choices=["edges", "assigned"], default="edges")
    parser.add_argument("--profile", help="write cProfile stats of the K run to this file")
    args = parser.parse_args()

    configure(args.url)
    sys.path.insert(0, str(ROOT))
    create_database(args.url)
    import django

    django.setup()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    setup = setup_policies(args.mix)
    results = {}
    try:
        for n in args.tickets:
            seconds = reset_and_seed(n, setup)
            print(f"seeded {n:,} tickets ({args.mix} mix) in {seconds:.1f}s", flush=True)
            empty_run_p50, _, _ = empty_p50(args.runs)
            changed = [run_with_breaches(args.changed, n, r)[0] for r in range(3)]
            empty_after, empty_cpu, empty_backend = empty_p50(args.runs)
            k_elapsed, k_queries, k_outbox, k_cpu, k_backend = run_with_breaches(
                args.k, n, 3, args.profile
            )
            results[n] = {
                "empty": empty_run_p50,
                "changed": statistics.median(changed),
                "k_run": k_elapsed,
                "k_queries": k_queries,
                "per_breach": (k_elapsed - empty_after) / args.k,
                # CPU of this process and its database backend: what the wall time would be
                # on an idle machine, less waiting (other processes' load does not inflate it).
                "cpu_per_breach": (k_cpu - empty_cpu) / args.k,
                "backend_per_breach": (k_backend - empty_backend) / args.k,
            }
            r = results[n]
            print(
                f"  n={n:,}: empty p50 {r['empty']:.1f} ms; {args.changed} breaches "
                f"{r['changed']:.0f} ms (runs {', '.join(f'{c:.0f}' for c in changed)}); "
                f"{args.k} breaches {k_elapsed:.0f} ms, {k_queries} queries "
                f"({k_queries / args.k:.2f}/breach), {k_outbox / args.k:.1f} outbox rows/breach; "
                f"per breach {r['per_breach']:.2f} ms wall, {r['cpu_per_breach']:.2f} ms CPU"
                f" (client {r['cpu_per_breach'] - r['backend_per_breach']:.2f} + PostgreSQL backend"
                f" {r['backend_per_breach']:.2f}); load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            if args.explain:
                print(f"\nEXPLAIN ANALYZE at {n:,} tickets, nothing due:\n{explain()}\n")
            redis.Redis.from_url(REDIS_URL).flushdb()
    finally:
        redis.Redis.from_url(REDIS_URL).flushdb()

    print()
    print(f"{'measure':<44}{'value':>14}{'target':>16}  result")
    rows = []
    for n, r in results.items():
        ok = r["empty"] < EMPTY_TARGET_MS
        rows.append((f"(i) empty run p50, {n:,} tickets", f"{r['empty']:.1f} ms", "< 50 ms", ok))
        rows.append(
            (f"(ii) run with {args.changed} breaches, {n:,}", f"{r['changed']:.0f} ms", "", None)
        )
        ok = r["per_breach"] < PER_BREACH_TARGET_MS
        rows.append(
            (f"(iii) per breach (K={args.k}), {n:,}", f"{r['per_breach']:.2f} ms", "< 2 ms", ok)
        )
        ok = r["cpu_per_breach"] < PER_BREACH_TARGET_MS
        rows.append((f"(iii) CPU per breach, {n:,}", f"{r['cpu_per_breach']:.2f} ms", "< 2 ms", ok))
    sizes = sorted(results)
    if len(sizes) > 1:
        small, large = results[sizes[0]], results[sizes[-1]]
        for key, label in (("empty", "(i) empty"), ("changed", f"(ii) {args.changed} breaches")):
            ratio = large[key] / small[key]
            rows.append(
                (
                    f"{label} ratio {sizes[-1]:,}/{sizes[0]:,}",
                    f"{ratio:.2f}x",
                    f"< {RATIO_TARGET}x",
                    ratio < RATIO_TARGET,
                )
            )
    for name, value, target, ok in rows:
        verdict = "" if ok is None else ("PASS" if ok else "FAIL")
        print(f"{name:<44}{value:>14}{target:>16}  {verdict}")


if __name__ == "__main__":
    main()
