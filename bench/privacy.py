"""What privacy work costs, measured in one run:

    .venv/bin/python bench/privacy.py                      # the issue's sizes (long)
    .venv/bin/python bench/privacy.py --tickets 50 --due 20000 --lookups 200   # a smoke run

1. Subject access export of one customer with `--tickets` tickets (each with the customer's
   message and an agent's reply): the whole `build_export` (every registered part, the zip,
   the stored archive); target < 30 s at 1,000 tickets.
2. Retention over `--due` closed tickets due for anonymisation, each with two messages (the
   customer's, and an agent's reply that names the customer, which the run scrubs), seeded by
   `INSERT ... SELECT generate_series` in chunks (the contact columns hold one Fernet token
   and its keyed hash, as the application writes them). Batches of `--batch` (the app's
   `privacy.retention.BATCH_SIZE` by default) through `run_once` until none is due: per batch
   the wall time, the SQL statements (counted by a `connection.execute_wrapper`, so nothing
   accumulates) and the process's RSS (`/proc/self/statm`) after it; printed for the first and
   last batches with the peak RSS (`ru_maxrss`) at the start and at the end. Flat memory: the
   RSS after the last batch is that after the first. The due query's plan is printed once.
3. Encrypted lookups beside plain ones (`--lookups` each, median): tickets by contact address
   through the keyed hash (`with_customer_email`, the row decrypted) against tickets by number
   (a plain unique index, the same row and decryption), status subscribers by address (keyed
   hash) against accounts by address (plain LOWER(email) index), and the raw-SQL floors.

Its own database (`--database-url`, default `.../sd_privacy_bench`), created and migrated if
missing; everything seeded is deleted at the end.
"""

import argparse
import os
import resource
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/sd_privacy_bench"
SEED_CHUNK = 100_000
TICKET_SQL = " ".join(
    [
        "INSERT INTO support_ticket (number, subject, description, description_text,",
        "customer_id, customer_email, customer_email_hash, customer_name, customer_name_hash,",
        "priority, status, channel, created_at, updated_at, closed_at, sla_paused_minutes,",
        "sla_pauses, response_warned, response_breached, resolution_warned,",
        "resolution_breached, escalation_level, satisfaction_comment, sla_override_reason)",
        "SELECT %s || g, 'bench subject ' || g, '<p>text</p>', 'text', %s, %s, %s, %s, %s,",
        "'medium', 'closed', 'web', now() - interval '900 days', now(),",
        "now() - interval '800 days', 0, '[]', false, false, false, false, 0, '', ''",
        "FROM generate_series(%s, %s) g",
    ]
)
MESSAGE_SQL = " ".join(
    [
        "INSERT INTO support_ticketmessage (ticket_id, sender_type, body_html, body_text,",
        "is_internal, email_message_id, created_at)",
        "SELECT t.id, m.sender_type, m.html, m.text, false, '', t.created_at FROM support_ticket t",
        "CROSS JOIN (VALUES ('customer', '<p>hello</p>', 'hello'),",
        "('agent', '<p>Hello Bench Person, fixed.</p>', 'Hello Bench Person, fixed.'))",
        "AS m(sender_type, html, text)",
        "WHERE t.number LIKE %s AND t.id BETWEEN %s AND %s",
    ]
)
NAME = "Bench Person"


def _ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def seed_tickets(cursor, prefix: str, count: int, customer_id, email: str) -> None:
    """`count` closed tickets and their two messages, SEED_CHUNK a statement."""
    from core.crypto import encrypt, keyed_hash

    contact = [encrypt(email), keyed_hash(email), encrypt(NAME), keyed_hash(NAME)]
    for start in range(1, count + 1, SEED_CHUNK):
        end = min(start + SEED_CHUNK - 1, count)
        cursor.execute(f"{TICKET_SQL} RETURNING id", [prefix, customer_id, *contact, start, end])
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(MESSAGE_SQL, [f"{prefix}%", min(ids), max(ids)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--due", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=0, help="retention batch (0: the app's)")
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args()
    _ensure_database(args.database_url)
    os.environ.update(
        DATABASE_URL=args.database_url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        LOG_LEVEL="ERROR",
        CELERY_BROKER_URL="memory://localhost/",
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import IntegrityError, connection, transaction
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from core.crypto import keyed_hash
    from core.models import User
    from incidents.models import StatusSubscriber
    from privacy import retention, services
    from privacy.models import PrivacyRequest, RetentionPolicy
    from support.models import Ticket
    from support.privacy import _closed_tickets_due

    lead = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
        "bench-lead@privacy.example", "x"
    )
    customer = User.objects.create_user("bench-export@privacy.example", "x", full_name=NAME)
    subscribers, users = [], []
    batch = args.batch or retention.BATCH_SIZE
    try:
        # 1. export
        with connection.cursor() as cursor:
            seed_tickets(cursor, "BENCH-EXP-", args.tickets, customer.pk, customer.email)
        Ticket.objects.filter(number__startswith="BENCH-EXP-").update(closed_at=None, status="open")
        request = services.create_request(by=lead, kind="export", user=customer)
        started = time.perf_counter()
        services.build_export(request.pk)
        export_s = time.perf_counter() - started
        request.refresh_from_db()
        counts = (
            f"{request.result.get('tickets')} tickets, {request.result.get('messages')} messages"
        )
        print(f"export: {args.tickets} tickets ({counts} exported) in {export_s:.2f} s "
              f"({request.archive_size / 1024:.0f} KiB, target < 30 s: "
              f"{'met' if export_s < 30 else 'NOT met'})")  # fmt: skip

        # 2. retention
        started = time.perf_counter()
        with connection.cursor() as cursor:
            seed_tickets(cursor, "BENCH-RET-", args.due, None, "old@privacy.example")
            cursor.execute("ANALYZE support_ticket; ANALYZE support_ticketmessage")
        print(f"retention seed: {args.due} due tickets, {2 * args.due} messages in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        RetentionPolicy.objects.update_or_create(
            kind="support.closed_tickets",
            defaults={"days": 365, "action": "anonymise", "enabled": True},
        )
        due = _closed_tickets_due(
            timezone.now() - timedelta(days=365), services.active_holds(), "anonymise"
        ).order_by("pk")
        sql, params = due.values("pk")[:batch].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql, params)
            plan = " / ".join(row[0].strip() for row in cursor.fetchall()[:3])
        print(f"retention due query: {plan}")

        statements = [0]

        def count(execute, sql, params, many, context):
            statements[0] += 1
            return execute(sql, params, many, context)

        rows = []  # (seconds, statements, rss MiB, changed) per batch
        peak_start = None
        with connection.execute_wrapper(count):
            while True:
                statements[0] = 0
                started = time.perf_counter()
                done = retention.run_once(batch_size=batch)
                elapsed = time.perf_counter() - started
                changed = sum(len(v) for v in done.values())
                if not changed:
                    break
                rows.append((elapsed, statements[0], _rss_mib(), changed))
                if peak_start is None:
                    peak_start = _peak_mib()
        total = sum(r[3] for r in rows)
        seconds = sum(r[0] for r in rows)
        print(f"retention: {total} tickets in {len(rows)} batches of {batch}, {seconds:.1f} s "
              f"({seconds / max(total, 1) * 1000:.2f} ms a ticket)")  # fmt: skip
        for index in sorted({*range(min(3, len(rows))), *range(max(0, len(rows) - 3), len(rows))}):
            elapsed, count_, rss, changed = rows[index]
            print(f"  batch {index + 1}: {changed} tickets, {elapsed * 1000:.0f} ms, "
                  f"{count_} statements, RSS {rss:.1f} MiB")  # fmt: skip
        if rows:
            times = [r[0] for r in rows]
            print(f"  statements per batch: min {min(r[1] for r in rows)}, "
                  f"max {max(r[1] for r in rows)}; batch time first {times[0] * 1000:.0f} ms, "
                  f"median {statistics.median(times) * 1000:.0f} ms, last "
                  f"{times[-1] * 1000:.0f} ms; RSS after the first batch {rows[0][2]:.1f} MiB, "
                  f"after the last {rows[-1][2]:.1f} MiB; peak RSS at the start "
                  f"{peak_start:.1f} MiB, at the end {_peak_mib():.1f} MiB")  # fmt: skip

        # 3. encrypted lookups beside plain ones
        n = args.lookups
        Ticket.objects.bulk_create(  # bulk_create runs the fields' pre_save: token and hash
            [
                Ticket(
                    number=f"BENCH-LKP-{i}",
                    subject="lookup",
                    customer_email=f"contact{i}@privacy.example",
                    customer_name=f"Contact {i}",
                )
                for i in range(n)
            ],
            batch_size=1000,
        )
        subscribers = StatusSubscriber.objects.bulk_create(  # bulk_create skips save()'s hash
            [
                StatusSubscriber(
                    email=f"sub{i}@privacy.example",
                    email_hash=keyed_hash(f"sub{i}@privacy.example"),
                    nonce="x",
                )
                for i in range(n)
            ]
        )
        users = User.objects.bulk_create(
            [User(email=f"user{i}@privacy.example", password="!") for i in range(n)]
        )
        connection.cursor().execute(
            "ANALYZE support_ticket; ANALYZE incidents_statussubscriber; ANALYZE core_user"
        )

        def timed(fn):
            samples = []
            for i in range(n):
                started = time.perf_counter()
                fn(i)
                samples.append(time.perf_counter() - started)
            return statistics.median(samples) * 1e6

        by_hash = timed(
            lambda i: (
                Ticket.objects.with_customer_email(f"contact{i}@privacy.example")
                .get()
                .customer_email
            )
        )
        by_number = timed(lambda i: Ticket.objects.get(number=f"BENCH-LKP-{i}").customer_email)
        encrypted = timed(
            lambda i: StatusSubscriber.objects.with_email(f"sub{i}@privacy.example").get().email
        )
        plain = timed(lambda i: User.objects.with_email(f"user{i}@privacy.example").get().email)
        with connection.cursor() as cursor:
            floor_hash = timed(lambda i: cursor.execute(
                "SELECT customer_email FROM support_ticket WHERE customer_email_hash = %s",
                [keyed_hash(f"contact{i}@privacy.example")]).fetchone())  # fmt: skip
            floor_number = timed(lambda i: cursor.execute(
                "SELECT customer_email FROM support_ticket WHERE number = %s",
                [f"BENCH-LKP-{i}"]).fetchone())  # fmt: skip
            floor_plain = timed(lambda i: cursor.execute(
                "SELECT email FROM core_user WHERE LOWER(email) = %s",
                [f"user{i}@privacy.example"]).fetchone())  # fmt: skip
        print(f"lookups (median of {n}): ticket by contact address through the keyed hash "
              f"{by_hash:.0f} us, by number {by_number:.0f} us, ratio {by_hash / by_number:.2f} "
              f"(raw SQL {floor_hash:.0f} / {floor_number:.0f} us); subscriber by keyed hash "
              f"{encrypted:.0f} us, account by LOWER(email) {plain:.0f} us, ratio "
              f"{encrypted / plain:.2f} (raw SQL plain {floor_plain:.0f} us)")  # fmt: skip
    finally:
        try:  # in SQL: the ORM's delete would load a million tickets' messages to cascade
            with transaction.atomic(), connection.cursor() as cursor:
                bench = "SELECT id FROM support_ticket WHERE number LIKE %s"
                cursor.execute(
                    f"DELETE FROM support_ticketmessage WHERE ticket_id IN ({bench})", ["BENCH-%"]
                )
                cursor.execute("DELETE FROM support_ticket WHERE number LIKE %s", ["BENCH-%"])
        except IntegrityError:  # rows of other tables point at them: let the ORM cascade
            Ticket.objects.filter(number__startswith="BENCH-").delete()
        StatusSubscriber.objects.filter(pk__in=[s.pk for s in subscribers if s.pk]).delete()
        User.objects.filter(pk__in=[u.pk for u in users if u.pk]).delete()
        for r in PrivacyRequest.objects.filter(subject_user=customer):
            if r.archive:
                r.archive.delete(save=False)
        PrivacyRequest.objects.filter(subject_user=customer).delete()
        RetentionPolicy.objects.filter(kind="support.closed_tickets").delete()
        customer.delete()


if __name__ == "__main__":
    main()
