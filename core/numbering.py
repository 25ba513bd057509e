"""Human-readable numbers (`TKT-20261125-0001`, `KB-00042`) that concurrent creators never share.

One upsert increments the counter row of the number's scope and returns the new value. The row
stays locked until the caller's transaction ends, so concurrent creators queue on it instead of
colliding, and a rolled-back creation gives its number back.
"""

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from .models import NumberCounter

_UPSERT = (
    "INSERT INTO {table} (scope, last_value) VALUES (%s, 1) "
    "ON CONFLICT (scope) DO UPDATE SET last_value = {table}.last_value + 1 "
    "RETURNING last_value"
)


def next_value(scope: str) -> int:
    """The next integer of `scope`, starting at 1. Must run inside the creating transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("next_value() must be called inside the transaction that uses it.")
    table = connection.ops.quote_name(NumberCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT.format(table=table), [scope])
        return cursor.fetchone()[0]


def daily_number(prefix: str, *, at=None, width: int = 4) -> str:
    """`PREFIX-YYYYMMDD-NNNN`: a counter per prefix and UTC day; widens past 9999, never wraps."""
    day = (at or timezone.now()).astimezone(dt.UTC).strftime("%Y%m%d")
    value = next_value(f"{prefix}-{day}")
    return f"{prefix}-{day}-{value:0{width}d}"


def sequential_number(prefix: str, *, width: int = 5) -> str:
    """`PREFIX-NNNNN`: one counter per prefix for ever."""
    return f"{prefix}-{next_value(prefix):0{width}d}"


@transaction.atomic
def allocate_daily_number(prefix: str, *, at=None) -> str:
    """A daily number in a transaction of its own (for callers outside a transaction)."""
    return daily_number(prefix, at=at)
