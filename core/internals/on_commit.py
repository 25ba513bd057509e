"""One value per open transaction, and whether a commit callback is still pending.

Relies on `connection.run_on_commit`, the connection's list of `(savepoint ids, callback,
robust)` entries that `transaction.on_commit` appends to and a savepoint rollback prunes.
"""

from django.db import transaction


def in_transaction() -> bool:
    return transaction.get_connection().in_atomic_block


def connection_state(name: str) -> dict:
    """A dict that lives on the current database connection (one per thread), under `name`."""
    return transaction.get_connection().__dict__.setdefault(f"_core_{name}", {})


def is_pending(callback) -> bool:
    """Whether `callback` is still registered to run when the transaction commits (a rolled
    back savepoint drops the callbacks registered inside it)."""
    pending = transaction.get_connection().run_on_commit
    return any(func is callback for _, func, _ in pending)
