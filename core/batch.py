"""Write many rows as a few bulk statements: one batch per block, held in a context variable.

A sweep that changes hundreds of rows in one transaction (the SLA monitor, a reminder sweep)
would otherwise pay one INSERT per audit event, per outbox row, per escalation. Inside
`batched()` the writers of those rows hand them to a `Sink` instead, and the batch writes each
sink's rows with one bulk statement per chunk when the block ends:

    with batched():
        for ticket in tickets:
            events.record(ticket=ticket, kind=...)   # appended, not inserted
    # here: one INSERT for all the events, one for the outbox rows, ...

Outside a block every sink writes at once, so callers need not know which mode they are in.

A context variable (not a thread-local) holds the batch: each asyncio task and each thread has
its own, so two requests served by one ASGI event loop never share a batch, and a Celery task
never inherits one from a previous task. Nested blocks join the outer one. An exception in the
block discards its rows (the transaction rolls back anyway); `flush()` can also be called inside
the block when later statements must see the rows.

Rows in a batch have no primary key until the flush, so nothing may build a key from one: see
`require_saved`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(eq=False)
class Sink:
    """Where rows of one kind go: `write(rows)` stores a list of them (one or many).

    Sinks flush in the order they were declared, so a sink whose rows refer to another's
    (an escalation to its ticket's update) is declared after it.
    """

    name: str
    write: Callable[[list], None]
    order: int = field(default=0)

    def __post_init__(self):
        self.order = next(_order)

    def add(self, row) -> None:
        batch = _current.get()
        if batch is None:
            self.write([row])
        else:
            batch.rows.setdefault(self, []).append(row)

    def add_many(self, rows: Iterable) -> None:
        rows = list(rows)
        batch = _current.get()
        if batch is None:
            if rows:
                self.write(rows)
        else:
            batch.rows.setdefault(self, []).extend(rows)


def _counter():
    n = 0
    while True:
        n += 1
        yield n


_order = _counter()


@dataclass
class Batch:
    rows: dict[Sink, list] = field(default_factory=dict)

    def flush(self) -> None:
        """Write every sink's rows, in declaration order, and empty the batch."""
        while self.rows:
            sink = min(self.rows, key=lambda s: s.order)
            rows = self.rows.pop(sink)
            if rows:
                sink.write(rows)


_current: ContextVar[Batch | None] = ContextVar("core_batch", default=None)


def active() -> bool:
    return _current.get() is not None


@contextmanager
def batched():
    """Collect the rows sinks are given inside the block; write them when it ends."""
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    batch = Batch()
    token = _current.set(batch)
    try:
        yield batch
    except BaseException:
        batch.rows.clear()
        raise
    finally:
        _current.reset(token)
    batch.flush()


def require_saved(*objects) -> None:
    """Refuse to build a key from an object that has no primary key yet.

    `f"ticket:{event.pk}"` on an event still waiting in a batch would be `ticket:None` for
    every such event, and all but the first would be dropped as duplicates.
    """
    for obj in objects:
        if getattr(obj, "pk", None) is None:
            raise ValueError(f"{obj!r} is not saved yet: no key can be built from its id")
