"""What privacy work costs, measured in one run:

    .venv/bin/python bench/privacy.py                      # the issue's sizes (long)
    .venv/bin/python bench/privacy.py --tickets 50 --due 2000 --lookups 200   # a smoke run

1. Subject access export of one customer with `--tickets` tickets (each with a reply): the
   whole `build_export` (every registered part, the zip, the stored archive); target < 30 s
   at 1,000 tickets.
2. Retention over `--due` closed tickets due (seeded with one INSERT ... SELECT): batches of
   `privacy.retention.BATCH_SIZE` through `run_once`, timing each and the Python heap's peak
   per batch (tracemalloc), which must stay flat whatever the number due.
3. Encrypted lookups beside plain ones: `--lookups` exact lookups of status subscribers by
   address through the keyed hash (`with_email`), against the same number of users by address
   through their plain LOWER(email) index, and each's raw-SQL floor.

Its own database (`--database-url`, default `.../sd_privacy_bench`), created and migrated if
missing; everything seeded is deleted at the end.
"""

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/sd_privacy_bench"
TICKET_SQL = " ".join(
    [
        "INSERT INTO support_ticket (number, subject, description, description_text,",
        "customer_id, customer_email, customer_name, priority, status, channel, created_at,",
        "updated_at, closed_at, sla_paused_minutes, sla_pauses, response_warned,",
        "response_breached, resolution_warned, resolution_breached, escalation_level,",
        "satisfaction_comment, sla_override_reason)",
        "SELECT %s || g, 'bench subject ' || g, '<p>text</p>', 'text', %s, %s, 'Bench Person',",
        "'medium', 'closed', 'web', now() - interval '900 days', now(),",
        "now() - interval '800 days', 0, '[]', false, false, false, false, 0, '', ''",
        "FROM generate_series(1, %s) g RETURNING id",
    ]
)
MESSAGE_SQL = " ".join(
    [
        "INSERT INTO support_ticketmessage (ticket_id, sender_type, body_html, body_text,",
        "is_internal, email_message_id, created_at)",
        "SELECT id, 'customer', '<p>hello</p>', 'hello', false, '', now() FROM support_ticket",
        "WHERE number LIKE %s",
    ]
)


def _ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--due", type=int, default=1_000_000)
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
    from django.db import connection

    call_command("migrate", verbosity=0)
    from core.crypto import keyed_hash
    from core.models import User
    from incidents.models import StatusSubscriber
    from privacy import retention, services
    from privacy.models import PrivacyRequest, RetentionPolicy
    from support.models import Ticket

    lead = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
        "bench-lead@privacy.example", "x"
    )
    customer = User.objects.create_user("bench-export@privacy.example", "x", full_name="Bench")
    subscribers, users = [], []
    try:
        # 1. export
        with connection.cursor() as cursor:
            cursor.execute(TICKET_SQL, ["BENCH-EXP-", customer.pk, customer.email, args.tickets])
            cursor.execute(MESSAGE_SQL, ["BENCH-EXP-%"])
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
        with connection.cursor() as cursor:
            cursor.execute(TICKET_SQL, ["BENCH-RET-", None, "old@privacy.example", args.due])
        RetentionPolicy.objects.update_or_create(
            kind="support.closed_tickets",
            defaults={"days": 365, "action": "anonymise", "enabled": True},
        )
        times, peaks, total = [], [], 0
        tracemalloc.start()
        while True:
            tracemalloc.reset_peak()
            started = time.perf_counter()
            done = retention.run_once()
            elapsed = time.perf_counter() - started
            changed = sum(len(v) for v in done.values())
            if not changed:
                break
            total += changed
            times.append(elapsed)
            peaks.append(tracemalloc.get_traced_memory()[1] / 1024 / 1024)
        tracemalloc.stop()
        per_row = sum(times) / max(total, 1) * 1000
        print(f"retention: {total} tickets in {len(times)} batches of "
              f"{retention.BATCH_SIZE}, {sum(times):.1f} s ({per_row:.2f} ms a ticket); "
              f"heap peak per batch first {peaks[0]:.1f} MiB, last {peaks[-1]:.1f} MiB, "
              f"max {max(peaks):.1f} MiB")  # fmt: skip

        # 3. encrypted lookups beside plain ones
        n = args.lookups
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
        connection.cursor().execute("ANALYZE incidents_statussubscriber; ANALYZE core_user")

        def timed(fn):
            samples = []
            for i in range(n):
                started = time.perf_counter()
                fn(i)
                samples.append(time.perf_counter() - started)
            return statistics.median(samples) * 1e6

        encrypted = timed(
            lambda i: StatusSubscriber.objects.with_email(f"sub{i}@privacy.example").get().email
        )
        plain = timed(lambda i: User.objects.with_email(f"user{i}@privacy.example").get().email)
        with connection.cursor() as cursor:
            floor_plain = timed(lambda i: cursor.execute(
                "SELECT email FROM core_user WHERE LOWER(email) = %s",
                [f"user{i}@privacy.example"]).fetchone())  # fmt: skip
        print(f"lookups (median of {n}): encrypted by keyed hash {encrypted:.0f} us, "
              f"plain by LOWER(email) {plain:.0f} us, ratio {encrypted / plain:.2f}; "
              f"raw SQL plain {floor_plain:.0f} us")  # fmt: skip
    finally:
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
