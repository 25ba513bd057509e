"""Seed a PostgreSQL database with N tickets (default 1,000,000) and their messages.

    .venv/bin/python bench/seed_tickets.py                      # 1,000,000 tickets
    .venv/bin/python bench/seed_tickets.py --tickets 20000      # a quick trial
    .venv/bin/python bench/seed_tickets.py --reset              # drop and start again

Steps: create the database (default `supportdesk_bench` on 127.0.0.1), `migrate`, `seed_demo`
(staff, teams, categories, SLA policies, 300 tickets made through the services), 5,000 customer
accounts, then the tickets in chunks with `INSERT ... SELECT FROM generate_series` on the server,
one progress line per chunk. Secondary indexes of the two big tables are dropped during a large
load and rebuilt afterwards with their exact definitions (faster than maintaining them row by
row), then everything is ANALYZEd. Resumable: each chunk commits with its progress mark.

Distributions: tickets spread evenly over the 730 days before the first demo ticket, numbered
`TKT-YYYYMMDD-NNNN` with the per-day counters set to match (so API creation never collides); the
newest 20% hold the active work (half of them active, 10% of all tickets), older ones are closed or
cancelled; priorities 30/45/20/5% low/medium/high/urgent; subjects and descriptions drawn from a
skewed vocabulary so keywords have realistic, different selectivities; 20% of tickets carry 1-4
messages; one ticket has exactly 50 messages (its id is kept in the `bench_meta` table).
"""

import argparse
import datetime as dt
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/supportdesk_bench"
SPAN_DAYS = 730

PRODUCTS = [
    "login",
    "invoice",
    "export",
    "dashboard",
    "report",
    "billing",
    "password",
    "account",
    "mobile app",
    "api",
    "webhook",
    "integration",
    "calendar",
    "booking",
    "payment",
    "refund",
    "subscription",
    "notification",
    "email",
    "search",
    "upload",
    "attachment",
    "profile",
    "permissions",
    "sso",
    "import",
    "analytics",
    "checkout",
    "license",
    "printer",
]
PROBLEMS = [
    "not working",
    "fails",
    "error",
    "slow",
    "timeout",
    "missing",
    "crash",
    "broken",
    "wrong amount",
    "duplicate",
    "blank page",
    "cannot access",
    "stuck",
    "rejected",
    "out of sync",
    "locked",
    "not loading",
    "incorrect totals",
    "keeps spinning",
    "bounced",
]
CONTEXTS = [
    "since this morning",
    "after the update",
    "for all users",
    "on Android",
    "on iOS",
    "in Firefox",
    "in Chrome",
    "for our team",
    "since yesterday",
    "after migration",
    "in production",
    "for one customer",
    "intermittently",
    "every Monday",
    "after renewal",
]
DETAILS = [
    "we see a 500 response",
    "the spinner never stops",
    "nothing happens on click",
    "the totals do not match",
    "the page shows a stack trace",
    "customers are complaining",
    "the export file is empty",
    "we were charged twice",
    "the token seems expired",
    "the webhook delivery is delayed",
    "the certificate looks invalid",
    "the quota is exceeded",
    "our auditors need this fixed",
    "the sandbox works fine",
    "clearing the cache did not help",
]
FEATURES = [
    "single sign-on",
    "the CSV export",
    "the reporting module",
    "two-factor authentication",
    "the REST API",
    "scheduled reports",
    "the mobile client",
    "the Salesforce connector",
    "the Slack integration",
    "bulk import",
    "custom fields",
    "the invoice template",
    "the booking widget",
    "recurring payments",
    "the audit log",
]
REPLIES = [
    "Thanks for reaching out, we are looking into it.",
    "Could you send us a screenshot and the exact time it happened?",
    "We reproduced the problem and escalated it to engineering.",
    "A fix has been deployed, could you please try again?",
    "It works now, thank you for the quick help.",
    "Still failing on our side, same error as before.",
    "Internal: looks related to the cache invalidation bug.",
    "We applied a credit to your account for the inconvenience.",
]


def log(line: str) -> None:
    print(line, flush=True)


def with_db(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path="/" + name))


def ensure_database(url: str, reset: bool) -> None:
    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(with_db(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and reset:
            log(f"dropping database {name}")
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            log(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def django_env(url: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        DJANGO_HTTPS="false",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    env.setdefault("SECRET_KEY", "bench-only-not-secret-" + "x" * 40)
    return env


def manage(url: str, *args: str) -> None:
    log(f"manage.py {' '.join(args)}")
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], env=django_env(url), cwd=ROOT, check=True
    )


def meta_get(conn, key, default=None):
    row = conn.execute("SELECT value FROM bench_meta WHERE key = %s", [key]).fetchone()
    return json.loads(row[0]) if row else default


def meta_set(conn, key, value) -> None:
    conn.execute(
        "INSERT INTO bench_meta (key, value) VALUES (%s, %s) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        [key, json.dumps(value)],
    )


def seed_customers(conn, count: int) -> tuple[int, int]:
    have = conn.execute(
        "SELECT count(*), min(id), max(id) FROM core_user WHERE email LIKE 'bench-customer-%%'"
    ).fetchone()
    if have[0] < count:
        log(f"creating {count - have[0]:,} customer accounts")
        group_id = conn.execute("SELECT id FROM auth_group WHERE name = 'customer'").fetchone()[0]
        orgs = [r[0] for r in conn.execute("SELECT id FROM core_organization ORDER BY id")]
        conn.execute(
            """
            INSERT INTO core_user (password, is_superuser, email, full_name, phone,
                is_organization_admin, time_zone, language, is_staff, is_active, date_joined,
                signup_pending, sms_notifications, organization_id)
            SELECT '!', false, 'bench-customer-' || g || '@customer' || (g %% 97) || '.example',
                'Customer ' || g, '', false, 'UTC', 'en', false, true,
                now() - interval '800 days', false, false,
                CASE WHEN g %% 10 = 0 THEN (%(orgs)s::bigint[])[1 + g %% cardinality(%(orgs)s)]
                END
            FROM generate_series(%(start)s::bigint, %(stop)s::bigint) g
            """,
            {"orgs": orgs or [None], "start": have[0] + 1, "stop": count},
        )
        conn.execute(
            """
            INSERT INTO core_user_groups (user_id, group_id)
            SELECT u.id, %s FROM core_user u
            WHERE u.email LIKE 'bench-customer-%%'
              AND NOT EXISTS (SELECT 1 FROM core_user_groups x WHERE x.user_id = u.id)
            """,
            [group_id],
        )
        conn.commit()
        have = conn.execute(
            "SELECT count(*), min(id), max(id) FROM core_user WHERE email LIKE 'bench-customer-%%'"
        ).fetchone()
    return have[1], have[2]


def drop_secondary_indexes(conn, tables) -> list[str]:
    rows = conn.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """,
        [list(tables)],
    ).fetchall()
    saved = meta_get(conn, "dropped_indexes", [])
    saved += [definition for _, definition in rows]
    meta_set(conn, "dropped_indexes", saved)
    for name, _ in rows:
        conn.execute(f'DROP INDEX "{name}"')
    conn.commit()
    if rows:
        log(f"dropped {len(rows)} secondary indexes for the bulk load (rebuilt at the end)")
    return saved


def rebuild_indexes(conn) -> None:
    saved = meta_get(conn, "dropped_indexes", [])
    if not saved:
        return
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SET max_parallel_maintenance_workers = 2")
    for number, definition in enumerate(saved, 1):
        started = time.monotonic()
        conn.execute(definition.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
        name = definition.split()[2] if "UNIQUE" not in definition else definition.split()[3]
        log(f"  index {number}/{len(saved)} {name} rebuilt in {time.monotonic() - started:.1f}s")
    meta_set(conn, "dropped_indexes", [])
    conn.commit()


TICKETS_SQL = """
INSERT INTO support_ticket (
    number, subject, description, description_text, customer_email, customer_name, priority,
    status, channel, first_response_due_at, resolution_due_at, sla_due_at, first_responded_at,
    resolved_at, closed_at, sla_paused_at, sla_paused_minutes, response_warned,
    response_breached, resolution_warned, resolution_breached, escalation_level,
    last_message_at, customer_last_reply_at, satisfaction_rating, satisfaction_comment,
    nps_score, rated_at, created_at, updated_at, assigned_to_id, category_id, customer_id,
    merged_into_id, organization_id, sla_policy_id, team_id)
SELECT
    'TKT-' || to_char(%(start_day)s::date + s.day::int, 'YYYYMMDD')
        || '-' || lpad(s.seq::text, 4, '0'),
    s.subject, '<p>' || s.body || '</p>', s.body, u.email, u.full_name, s.priority,
    s.status, s.channel,
    s.created + s.resp_h * interval '1 hour', s.created + s.res_h * interval '1 hour',
    CASE
        WHEN s.status IN ('open', 'assigned') THEN s.created + s.resp_h * interval '1 hour'
        WHEN s.status IN ('in_progress', 'waiting_on_internal')
            THEN s.created + s.res_h * interval '1 hour'
    END,
    CASE WHEN s.status NOT IN ('open', 'assigned')
        THEN s.created + s.r3 * s.resp_h * 1.2 * interval '1 hour' END,
    CASE WHEN s.status IN ('resolved', 'closed')
        THEN s.created + s.r4 * s.res_h * 1.3 * interval '1 hour' END,
    CASE WHEN s.status IN ('closed', 'cancelled')
        THEN s.created + (s.r4 * s.res_h * 1.3 + 168) * interval '1 hour' END,
    CASE WHEN s.status = 'waiting_on_customer' THEN s.created + interval '2 hours' END,
    0, false, s.status NOT IN ('open', 'assigned') AND s.r3 * 1.2 > 1,
    false, s.status IN ('resolved', 'closed') AND s.r4 * 1.3 > 1, 0,
    s.created, s.created, NULL, '', NULL, NULL,
    s.created,
    s.created + CASE WHEN s.status IN ('closed', 'cancelled', 'resolved')
        THEN (s.r4 * s.res_h * 1.3 + 168) * interval '1 hour' ELSE interval '0' END,
    CASE WHEN s.status <> 'open' AND s.status <> 'cancelled'
        THEN (%(agents)s::bigint[])[1 + floor(s.r5 * cardinality(%(agents)s))::int] END,
    (%(categories)s::bigint[])[1 + floor(s.r6 * cardinality(%(categories)s))::int],
    u.id, NULL, u.organization_id,
    (%(policies)s::jsonb ->> s.priority)::bigint,
    CASE WHEN s.r6 < 0.9
        THEN (%(teams)s::bigint[])[1 + floor(s.r5 * cardinality(%(teams)s))::int] END
FROM (
    SELECT
        g AS i,
        g / %(per_day)s AS day,
        g %% %(per_day)s + 1 AS seq,
        %(start_day)s::timestamptz + (g / %(per_day)s) * interval '1 day'
            + ((g %% %(per_day)s) + 0.5) * (86400.0 / %(per_day)s) * interval '1 second'
            AS created,
        CASE WHEN p < 0.30 THEN 'low' WHEN p < 0.75 THEN 'medium'
             WHEN p < 0.95 THEN 'high' ELSE 'urgent' END AS priority,
        CASE WHEN p < 0.30 THEN 24 WHEN p < 0.75 THEN 8 WHEN p < 0.95 THEN 4 ELSE 1 END AS resp_h,
        CASE WHEN p < 0.30 THEN 120 WHEN p < 0.75 THEN 72 WHEN p < 0.95 THEN 24 ELSE 8 END AS res_h,
        CASE
            WHEN g >= %(recent_from)s THEN
                CASE WHEN st < 0.15 THEN 'open' WHEN st < 0.27 THEN 'assigned'
                     WHEN st < 0.39 THEN 'in_progress' WHEN st < 0.46 THEN 'waiting_on_customer'
                     WHEN st < 0.50 THEN 'waiting_on_internal' WHEN st < 0.65 THEN 'resolved'
                     WHEN st < 0.95 THEN 'closed' ELSE 'cancelled' END
            ELSE CASE WHEN st < 0.88 THEN 'closed' ELSE 'cancelled' END
        END AS status,
        CASE WHEN ch < 0.45 THEN 'web' WHEN ch < 0.80 THEN 'email' WHEN ch < 0.88 THEN 'api'
             WHEN ch < 0.95 THEN 'chat' ELSE 'phone' END AS channel,
        initcap((%(products)s::text[])[1 + floor(w1 * w1 * cardinality(%(products)s))::int])
            || ' ' || (%(problems)s::text[])[1 + floor(w2 * w2 * cardinality(%(problems)s))::int]
            || ' ' || (%(contexts)s::text[])[1 + floor(w3 * cardinality(%(contexts)s))::int]
            AS subject,
        'Hello, ' || (%(contexts)s::text[])[1 + floor(w4 * cardinality(%(contexts)s))::int]
            || ' ' || (%(details)s::text[])[1 + floor(w5 * w5 * cardinality(%(details)s))::int]
            || '. We rely on '
            || (%(features)s::text[])[1 + floor(w6 * w6 * cardinality(%(features)s))::int]
            || ' and the ' || (%(products)s::text[])[1 + floor(w4 * cardinality(%(products)s))::int]
            || ' is affected. Reference E' || (1000 + floor(w5 * 9000)::int) || '.' AS body,
        r3, r4, r5, r6, cu
    FROM (
        SELECT g, random() p, random() st, random() ch, random() w1, random() w2, random() w3,
               random() w4, random() w5, random() w6, random() r3, random() r4, random() r5,
               random() r6, random() cu
        FROM generate_series(%(first)s::bigint, %(last)s::bigint) g
    ) raw
) s
JOIN core_user u ON u.id = %(cust_min)s + floor(s.cu * %(cust_count)s)::bigint
"""

MESSAGES_SQL = """
INSERT INTO support_ticketmessage (sender_type, body_html, body_text, is_internal,
    email_message_id, created_at, author_id, ticket_id)
SELECT
    CASE WHEN k %% 2 = 1 THEN 'customer' ELSE 'agent' END,
    '<p>' || (%(replies)s::text[])[1 + (t.id + k) %% cardinality(%(replies)s)] || '</p>',
    (%(replies)s::text[])[1 + (t.id + k) %% cardinality(%(replies)s)],
    k %% 2 = 0 AND (t.id + k) %% 5 = 0, '',
    t.created_at + k * interval '37 minutes',
    CASE WHEN k %% 2 = 1 THEN t.customer_id ELSE coalesce(t.assigned_to_id, %(agent)s) END,
    t.id
FROM support_ticket t
CROSS JOIN LATERAL generate_series(1, 1 + (t.id %% 4)::int) k
WHERE t.id > %(after_id)s AND t.id %% 5 = 0
"""


ZERO_VALUES = {
    "boolean": "false",
    "integer": "0",
    "smallint": "0",
    "bigint": "0",
    "double precision": "0",
    "numeric": "0",
    "jsonb": "'{}'::jsonb",
    "text": "''",
    "character varying": "''",
}


def with_required_columns(conn, sql: str, table: str) -> str:
    """Columns added by later migrations (NOT NULL, no database default) get their zero value.

    Keeps the loader working while the schema evolves; nullable new columns are left NULL.
    """
    insert_head, rest = sql.split(")", 1)
    listed = {c.strip() for c in insert_head.split("(", 1)[1].split(",")}
    missing = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL "
        "AND column_name <> 'id'",
        [table],
    ).fetchall()
    extra = [(name, ZERO_VALUES[kind]) for name, kind in missing if name not in listed]
    if not extra:
        return sql
    log(f"  {table}: filling newer NOT NULL columns {', '.join(n for n, _ in extra)}")
    head = insert_head + "".join(f", {name}" for name, _ in extra) + ")"
    select_marker = "\nFROM (" if table == "support_ticket" else "\nFROM support_ticket t"
    select_part, from_part = rest.split(select_marker, 1)
    select_part += "".join(f", {value}" for _, value in extra)
    return head + select_part + select_marker + from_part


def seed_tickets(conn, args, cust_min, cust_max) -> None:
    total = args.tickets
    done = meta_get(conn, "seeded_tickets", 0)
    planned = meta_get(conn, "planned_tickets")
    if planned is not None and planned != total and done < planned:
        sys.exit(f"an unfinished load of {planned:,} tickets is in the database; use --reset")
    if done >= total:
        log(f"{done:,} tickets already seeded")
        return
    meta_set(conn, "planned_tickets", total)
    first_demo = conn.execute(
        "SELECT coalesce(min(created_at), now())::date FROM support_ticket"
    ).fetchone()[0]
    start_day = meta_get(conn, "start_day")
    if start_day is None:
        # Seeded tickets end the day before the oldest demo ticket: their numbers never collide.
        start_day = str(first_demo - dt.timedelta(days=SPAN_DAYS + 1))
        meta_set(conn, "start_day", start_day)
    per_day = math.ceil(total / SPAN_DAYS)
    conn.commit()

    if total - done >= 100_000:
        drop_secondary_indexes(conn, ["support_ticket", "support_ticketmessage"])

    ids = lambda sql: [r[0] for r in conn.execute(sql)]  # noqa: E731
    agents = ids(
        "SELECT u.id FROM core_user u JOIN core_user_groups ug ON ug.user_id = u.id "
        "JOIN auth_group g ON g.id = ug.group_id WHERE g.name IN ('agent', 'support_lead') "
        "ORDER BY u.id"
    )
    params = {
        "start_day": start_day,
        "per_day": per_day,
        "recent_from": int(total * 0.8),
        "agents": agents,
        "categories": ids("SELECT id FROM support_category WHERE is_active ORDER BY id"),
        "teams": ids("SELECT id FROM support_team ORDER BY id"),
        "policies": json.dumps(
            dict(
                conn.execute(
                    "SELECT DISTINCT ON (priority) priority, id FROM support_slapolicy "
                    "ORDER BY priority, id"
                ).fetchall()
            )
        ),
        "products": PRODUCTS,
        "problems": PROBLEMS,
        "contexts": CONTEXTS,
        "details": DETAILS,
        "features": FEATURES,
        "cust_min": cust_min,
        "cust_count": cust_max - cust_min + 1,
    }
    tickets_sql = with_required_columns(conn, TICKETS_SQL, "support_ticket")
    messages_sql = with_required_columns(conn, MESSAGES_SQL, "support_ticketmessage")
    started = time.monotonic()
    first_done = done
    log(f"seeding tickets {done:,} -> {total:,} in chunks of {args.chunk:,} ({per_day}/day)")
    while done < total:
        last = min(done + args.chunk, total) - 1
        after_id = conn.execute("SELECT coalesce(max(id), 0) FROM support_ticket").fetchone()[0]
        conn.execute("SELECT setseed(%s)", [((done // args.chunk) % 1000) / 1000.0])
        conn.execute(tickets_sql, {**params, "first": done, "last": last})
        cur = conn.execute(
            messages_sql, {"replies": REPLIES, "after_id": after_id, "agent": agents[0]}
        )
        messages = cur.rowcount
        conn.execute(
            "UPDATE support_ticket t SET last_message_at = m.last_at FROM ("
            " SELECT ticket_id, max(created_at) last_at FROM support_ticketmessage"
            " WHERE ticket_id > %s GROUP BY ticket_id) m WHERE t.id = m.ticket_id",
            [after_id],
        )
        done = last + 1
        meta_set(conn, "seeded_tickets", done)
        conn.commit()
        elapsed = time.monotonic() - started
        rate = (done - first_done) / elapsed
        eta = (total - done) / rate if rate else 0
        log(
            f"  tickets {done:>10,}/{total:,} ({100 * done / total:5.1f}%)  "
            f"+{messages:,} messages  {rate:,.0f} tickets/s  "
            f"elapsed {elapsed:5.0f}s  ETA {eta:5.0f}s"
        )

    log("setting the per-day number counters")
    conn.execute(
        """
        INSERT INTO core_numbercounter (scope, last_value)
        SELECT 'TKT-' || to_char(%(start_day)s::date + d, 'YYYYMMDD'),
               least(%(per_day)s, %(total)s - d * %(per_day)s)
        FROM generate_series(0, (%(total)s::int - 1) / %(per_day)s::int) d
        ON CONFLICT (scope) DO UPDATE
            SET last_value = greatest(core_numbercounter.last_value, EXCLUDED.last_value)
        """,
        {"start_day": start_day, "per_day": per_day, "total": total},
    )
    conn.commit()


def seed_fifty_message_ticket(conn) -> int:
    ticket_id = meta_get(conn, "fifty_message_ticket")
    if ticket_id:
        return ticket_id
    row = conn.execute(
        "SELECT id, customer_id, coalesce(assigned_to_id, 3), created_at FROM support_ticket "
        "WHERE status = 'in_progress' AND customer_id IS NOT NULL ORDER BY id DESC LIMIT 1"
    ).fetchone()
    ticket_id, customer_id, agent_id, created = row
    conn.execute("DELETE FROM support_ticketmessage WHERE ticket_id = %s", [ticket_id])
    conn.execute(
        """
        INSERT INTO support_ticketmessage (sender_type, body_html, body_text, is_internal,
            email_message_id, created_at, author_id, ticket_id)
        SELECT CASE WHEN k %% 2 = 1 THEN 'customer' ELSE 'agent' END,
               '<p>Message ' || k || ': ' || repeat('Some realistic conversation text. ', 8)
                   || '</p>',
               'Message ' || k || ': ' || repeat('Some realistic conversation text. ', 8),
               k %% 10 = 0, '', %(created)s + k * interval '20 minutes',
               CASE WHEN k %% 2 = 1 THEN %(customer)s ELSE %(agent)s END, %(ticket)s
        FROM generate_series(1, 50) k
        """,
        {"created": created, "customer": customer_id, "agent": agent_id, "ticket": ticket_id},
    )
    conn.execute(
        "UPDATE support_ticket SET last_message_at = %s + interval '1000 minutes' WHERE id = %s",
        [created, ticket_id],
    )
    meta_set(conn, "fifty_message_ticket", ticket_id)
    conn.commit()
    log(f"ticket {ticket_id} has exactly 50 messages")
    return ticket_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--reset", action="store_true", help="drop the database first")
    args = parser.parse_args()

    overall = time.monotonic()
    ensure_database(args.database_url, args.reset)
    manage(args.database_url, "migrate", "--noinput", "--verbosity", "0")
    with psycopg.connect(args.database_url) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text)")
        demo = conn.execute("SELECT 1 FROM core_user WHERE email = 'lead@example.com'").fetchone()
        conn.commit()
    if not demo:
        manage(args.database_url, "seed_demo")
    with psycopg.connect(args.database_url) as conn:
        conn.execute("SET synchronous_commit = off")
        cust_min, cust_max = seed_customers(conn, args.customers)
        seed_tickets(conn, args, cust_min, cust_max)
        log("rebuilding indexes")
        rebuild_indexes(conn)
        seed_fifty_message_ticket(conn)
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        log("VACUUM ANALYZE")
        for table in ("support_ticket", "support_ticketmessage", "core_user", "core_numbercounter"):
            conn.execute(f"VACUUM ANALYZE {table}")
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM support_ticket), "
            "(SELECT count(*) FROM support_ticketmessage), "
            "pg_size_pretty(pg_database_size(current_database()))"
        ).fetchone()
    log(
        f"done in {time.monotonic() - overall:.0f}s: {counts[0]:,} tickets, "
        f"{counts[1]:,} messages, database {counts[2]}"
    )


if __name__ == "__main__":
    main()
