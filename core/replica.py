"""Reads that may come from a PostgreSQL replica (`DATABASE_REPLICA_URL`), and the router.

Analytics, reports and exports wrap their reads in `with reading_replica():`; inside it, and
only there, the router sends reads to the `replica` database when one is configured. Writes
always go to the primary, and so does every read inside a transaction on the primary (a
request that has just written reads its own writes), and any read when no replica is set.
A replica lags: what reads it must be content with a moment-old view (the analytics job and
the live part of a report read the primary, through `primary()`).
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
_reading = ContextVar("reading_replica", default=False)


def replica_configured() -> bool:
    return bool(settings.DATABASE_REPLICA_URL) and REPLICA in connections.settings


@contextmanager
def reading_replica():
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def streamed_from_replica(rows):
    """Iterate `rows` (a lazy queryset or generator, e.g. a streamed CSV's) inside
    `reading_replica()`: a streamed response reads its rows after the view has returned."""
    with reading_replica():
        yield from rows


@contextmanager
def primary():
    """Reads that must see the latest writes, even inside `reading_replica()`."""
    token = _reading.set(False)
    try:
        yield
    finally:
        _reading.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if (
            _reading.get()
            and replica_configured()
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return REPLICA
        return None

    # Writes, relations and migrations: Django's own choice (the primary, or the instance's
    # database; a replica gets its schema by replication).
