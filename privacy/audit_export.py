"""Audit export for auditors: every domain's audit events and the account events (sign-ins,
role changes) of a date range, as CSV or JSON Lines, streamed in constant memory.

Each exported line carries `prev_hash` and `hash` (SHA-256 of the previous hash and the line's
own content), so a line removed from or altered in the file is detected by
`manage.py audit_verify --file`; `row_hash` is the row's seal in the database chain.
"""

import csv
import hashlib
import io
import json
from collections.abc import Iterator

from .chain import GENESIS, audit_models, canonical, row_hash

COLUMNS = ["table", "id", "kind", "actor_id", "created_at", "object", "before", "after",
           "metadata", "row_hash", "prev_hash", "hash"]  # fmt: skip
CHUNK = 2000


def _records(start, end) -> Iterator[dict]:
    for model in audit_models():
        rows = model._base_manager.filter(created_at__gte=start, created_at__lt=end).order_by(
            "created_at", "pk"
        )
        for row in rows.iterator(chunk_size=CHUNK):
            values = canonical(row)
            common = {
                "id",
                "actor_id",
                "kind",
                "before",
                "after",
                "metadata",
                "created_at",
                "table",
            }
            yield {
                "table": values["table"],
                "id": row.pk,
                "kind": row.kind,
                "actor_id": row.actor_id,
                "created_at": values["created_at"],
                "object": {k: v for k, v in values.items() if k not in common},
                "before": row.before,
                "after": row.after,
                "metadata": row.metadata,
                "row_hash": row_hash(row),
            }


def line_hash(prev: str, record: dict) -> str:
    body = {k: v for k, v in record.items() if k not in ("prev_hash", "hash")}
    text = json.dumps(body, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(f"{prev}{text}".encode()).hexdigest()


def chained(start, end) -> Iterator[dict]:
    prev = GENESIS
    for record in _records(start, end):
        record["prev_hash"] = prev
        record["hash"] = prev = line_hash(prev, record)
        yield record


def jsonl(start, end) -> Iterator[str]:
    for record in chained(start, end):
        yield json.dumps(record, default=str, separators=(",", ":")) + "\n"


def csv_lines(start, end) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for record in chained(start, end):
        writer.writerow(
            [
                json.dumps(record[c], default=str) if isinstance(record[c], dict) else record[c]
                for c in COLUMNS
            ]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def verify_jsonl(lines) -> list[str]:
    """The breaks in an exported JSON Lines file: a line altered, removed or reordered."""
    problems, prev = [], GENESIS
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        if record.get("prev_hash") != prev or line_hash(prev, record) != record.get("hash"):
            problems.append(f"line {number}: the export's chain is broken here")
        prev = record.get("hash", "")
    return problems
