"""The raw-SQL floor of ticket creation: the statements of one API creation, replayed by pgbench.

`api_bench.py` captures the SQL that one `POST /api/v1/support/tickets/` sends through the full
Django stack (token lookup, category, BEGIN, number, routing team, SLA policy, the three INSERTs,
COMMIT). This module turns that capture into a pgbench script in which every value that must be
unique is fresh per transaction (the ticket number from the same `numbering_next` call, the new
ticket's id in the event row and in the outbox key), and runs it at the API load's concurrency.
pgbench is a C client, so the result is what the database gives for this work on this machine
with no HTTP server and no Python in the way: the ceiling of any implementation of the endpoint.
"""

import re
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path

SEQUENCE_VAR = "bench_seq"
TICKET_VAR = "bench_ticket_id"
TICKET_INSERT = 'INSERT INTO "support_ticket" ('


def pgbench_script(statements: list[str], *, ticket_id: int, number: str) -> str:
    """One pgbench transaction per creation, from the statements captured in-process."""
    prefix = number.rpartition("-")[0]
    fresh_number = f"{prefix}-B:{SEQUENCE_VAR}"  # "B" keeps bench numbers apart from real ones
    lines, after_insert = [], False
    for sql in statements:
        sql = " ".join(sql.strip().rstrip(";").split("\n"))
        sql = sql.replace(number, fresh_number).replace(number.lower(), fresh_number.lower())
        if after_insert:
            sql = re.sub(rf"\b{ticket_id}\b", f":{TICKET_VAR}", sql)
        if sql.startswith("SELECT numbering_next("):
            lines.append(f"{sql} AS {SEQUENCE_VAR} \\gset")
        elif sql.startswith(TICKET_INSERT):
            if "RETURNING" not in sql:
                raise ValueError("the ticket INSERT no longer returns its id")
            lines.append(sql + " \\gset bench_ticket_")
            after_insert = True
        else:
            lines.append(sql + ";")
    if not after_insert or not any(SEQUENCE_VAR in line for line in lines):
        raise ValueError("no ticket INSERT or numbering_next call among the captured statements")
    return "\n".join(lines) + "\n"


def writes_only(statements: list[str]) -> list[str]:
    """The statements no implementation can avoid: BEGIN, the number, the INSERTs, COMMIT.

    Lookups (token, category, routing team, SLA policy) could in principle come from a cache.
    """
    return [sql for sql in statements if not sql.lstrip().startswith('SELECT "')]


def available() -> bool:
    return shutil.which("pgbench") is not None


def run(url: str, script: str, *, seconds: int, concurrency: int) -> dict:
    """pgbench at `concurrency` clients for `seconds`; raises if any transaction failed."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(script)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        completed = subprocess.run(
            [
                "pgbench",
                "--no-vacuum",
                "--client",
                str(concurrency),
                "--jobs",
                "2",
                "--time",
                str(seconds),
                "--file",
                handle.name,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
    finally:
        Path(handle.name).unlink()
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    pgbench_cpu = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    out = completed.stdout + completed.stderr
    result = {"tool": "pgbench", "seconds": seconds, "concurrency": concurrency, "failed": 0}
    for line in out.splitlines():
        if line.startswith("tps = "):
            result["tps"] = float(line.split()[2])
        elif line.startswith("number of transactions actually processed:"):
            result["transactions"] = int(line.split(":")[1].split("/")[0])
        elif line.startswith("number of failed transactions:"):
            result["failed"] = int(line.split(":")[1].split()[0])
        elif line.startswith("latency average"):
            result["latency_ms"] = float(line.split("=")[1].split()[0])
    if completed.returncode != 0 or result["failed"] or "tps" not in result:
        raise RuntimeError(f"pgbench failed ({completed.returncode}):\n{out[-2000:]}")
    # The client's own CPU, to tell the database's share of the machine's CPU per transaction.
    result["client_cpu_ms_per_op"] = pgbench_cpu * 1000 / result["transactions"]
    return result


def delete_tickets(conn, where: str, params=()) -> int:
    """Delete the tickets matching `where` with every row that refers to them, and their outbox
    rows (keyed `ticket:<id>:...`). The referring tables are read from the catalog."""
    ids = [row[0] for row in conn.execute(f"SELECT id FROM support_ticket WHERE {where}", params)]
    if not ids:
        return 0
    references = conn.execute(
        "SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) "
        "WHERE c.contype = 'f' AND c.confrelid = 'support_ticket'::regclass "
        "AND c.conrelid <> 'support_ticket'::regclass"
    ).fetchall()
    # Messages' own dependants first (recipients and attachments also refer to the ticket).
    for table, column in sorted(references, key=lambda ref: ref[0] == "support_ticketmessage"):
        conn.execute(f'DELETE FROM {table} WHERE "{column}" = ANY(%s)', [ids])
    conn.execute(
        "DELETE FROM core_outboxmessage WHERE split_part(key, ':', 1) = 'ticket' "
        "AND split_part(key, ':', 2) = ANY(%s)",
        [[str(ticket_id) for ticket_id in ids]],
    )
    conn.execute(
        "UPDATE support_ticket SET merged_into_id = NULL WHERE merged_into_id = ANY(%s)", [ids]
    )
    conn.execute("DELETE FROM support_ticket WHERE id = ANY(%s)", [ids])
    return len(ids)


def remove_created(url: str) -> int:
    """Delete the tickets the floor created (numbers `<PREFIX>-<date>-B<n>`), with their rows.

    Otherwise every run would add thousands of identical newest tickets, and later keyword
    searches (newest first) would have to skip them all.
    """
    import psycopg

    with psycopg.connect(url) as conn:
        return delete_tickets(conn, "number ~ '^[A-Z]+-[0-9]{8}-B[0-9]+$'")
