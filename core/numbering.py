"""Human-readable numbers (`TKT-20261125-0001`, `KB-00042`) that concurrent creators never share.

PostgreSQL: one sequence per scope (`TKT-20261125`), created on first use. `nextval` never waits
for other transactions, so creators do not queue behind each other; a rolled-back creation leaves
a gap in the numbers (never a duplicate).

SQLite (embedded mode, where writers are serialised anyway): one upsert increments a counter row
of the scope inside the creating transaction, so a rolled-back creation gives its number back.
"""

import datetime as dt
import re

from django.db import connection
from django.utils import timezone

from .models import NumberCounter

_UPSERT = (
    "INSERT INTO {table} (scope, last_value) VALUES (%s, 1) "
    "ON CONFLICT (scope) DO UPDATE SET last_value = {table}.last_value + 1 "
    "RETURNING last_value"
)
_SAFE_SCOPE = re.compile(r"^[A-Za-z0-9_-]{1,50}$")


def _sequence_name(scope: str) -> str:
    return "numbering_" + scope.lower().replace("-", "_")


def _next_from_sequence(scope: str) -> int:
    # One statement: the database function (migration core/0003) creates the scope's sequence
    # on first use, race-free, and returns its next value.
    with connection.cursor() as cursor:
        cursor.execute("SELECT numbering_next(%s)", [_sequence_name(scope)])
        return cursor.fetchone()[0]


def _next_from_counter(scope: str) -> int:
    table = connection.ops.quote_name(NumberCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT.format(table=table), [scope])
        return cursor.fetchone()[0]


def next_value(scope: str) -> int:
    """The next integer of `scope`, from 1. Must run inside the transaction that uses it."""
    if not connection.in_atomic_block:
        raise RuntimeError("next_value() must be called inside the transaction that uses it.")
    if not _SAFE_SCOPE.match(scope):
        raise ValueError(f"Invalid numbering scope {scope!r}")
    if connection.vendor == "postgresql":
        return _next_from_sequence(scope)
    return _next_from_counter(scope)


def daily_number(prefix: str, *, at=None, width: int = 4) -> str:
    """`PREFIX-YYYYMMDD-NNNN`: a counter per prefix and UTC day; widens past 9999, never wraps."""
    day = (at or timezone.now()).astimezone(dt.UTC).strftime("%Y%m%d")
    value = next_value(f"{prefix}-{day}")
    return f"{prefix}-{day}-{value:0{width}d}"


def sequential_number(prefix: str, *, width: int = 5) -> str:
    """`PREFIX-NNNNN`: one counter per prefix for ever."""
    return f"{prefix}-{next_value(prefix):0{width}d}"
