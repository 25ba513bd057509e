"""Enqueueing Celery tasks from inside a transaction."""

import logging
from functools import partial

from django.db import transaction

from core.internals import on_commit

logger = logging.getLogger(__name__)


def _publish(task, args, kwargs):
    try:
        task.apply_async(args=args, kwargs=kwargs)
    except Exception:
        # The broker is down. The work is already recorded in the database (an outbox row, a due
        # time), and the periodic sweeper re-dispatches it, so the request must not fail here.
        logger.exception("Could not enqueue %s; the sweeper will pick the work up", task.name)


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Publish `task` once the current transaction commits; a rolled-back write sends nothing.

    Pass primary keys, never model instances. Outside a transaction it publishes at once.
    """
    transaction.on_commit(partial(_publish, task, list(args), kwargs))


BATCH_PUBLISH_SIZE = 100


def enqueue_batched_on_commit(task, item) -> None:
    """Collect `item` into one list per transaction and publish `task(items)` once on commit.

    A transaction that writes many rows of work (a monitor batch writing hundreds of outbox rows)
    costs one publish per hundred items instead of one per item. Outside a transaction it
    publishes at once.
    """
    enqueue_batched_on_commit_many(task, [item])


def enqueue_batched_on_commit_many(task, items) -> None:
    """`enqueue_batched_on_commit` for each of `items`, with one look-up of the pending batch.

    Outside a transaction it publishes them at once, a hundred per message."""
    items = list(items)
    if not items:
        return
    if not on_commit.in_transaction():
        for start in range(0, len(items), BATCH_PUBLISH_SIZE):
            _publish(task, [items[start : start + BATCH_PUBLISH_SIZE]], {})
        return
    batches = on_commit.connection_state("batched_on_commit")
    batch = batches.get(task.name)
    # A rolled-back transaction (or savepoint) dropped our flush callback: start a new batch.
    if batch is None or not on_commit.is_pending(batch["flush"]):
        pending: list = []

        def flush(items=pending, name=task.name):
            batches.pop(name, None)
            for start in range(0, len(items), BATCH_PUBLISH_SIZE):
                _publish(task, [items[start : start + BATCH_PUBLISH_SIZE]], {})

        batch = batches[task.name] = {"items": pending, "flush": flush}
        transaction.on_commit(flush)
    batch["items"].extend(items)
