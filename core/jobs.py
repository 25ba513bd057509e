"""Enqueueing Celery tasks from inside a transaction."""

import logging
from functools import partial

from django.db import transaction

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
