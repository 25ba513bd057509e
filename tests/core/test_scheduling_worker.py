"""End to end: scheduled work run by real Celery workers, one of them killed mid-row.

A worker subprocess consumes `core.tasks.run_scheduled_work` from Redis db 13 and sweeps the test
app's reminders against the test database (so the test commits its rows). Its handler stops in the
middle of one row (after writing that row's work, before the commit) and the test SIGKILLs it.
"""

from datetime import timedelta

import pytest
import redis
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from core.scheduling import WorkState
from core.tasks import run_scheduled_work
from tests.celery_worker import launch_worker, published_to, wait_for
from tests.scheduling_app.models import Reminder

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("celery-worker"),
]

WORKER_REDIS_URL = "redis://127.0.0.1:6379/13"
WORKER_SETTINGS = """\
from {settings_module} import *  # noqa: F403

SCHEDULING_TEST_HANG_ON = "r3"
SCHEDULING_TEST_HANG_FILE = {hang_file!r}
"""


@pytest.fixture
def start_worker(tmp_path, settings, request):
    """Starts a named worker on Redis db 13; each is stopped (and the db flushed) at the end."""
    flush = redis.Redis.from_url(WORKER_REDIS_URL).flushdb
    flush()
    request.addfinalizer(flush)
    settings_text = WORKER_SETTINGS.format(
        settings_module=settings.SETTINGS_MODULE, hang_file=str(tmp_path / "hanging")
    )

    def start(name):
        worker = launch_worker(
            tmp_path, settings_text=settings_text, redis_url=WORKER_REDIS_URL, name=name
        )
        request.addfinalizer(worker.stop)  # finalizers run last-in first-out: before the flush
        return worker

    return start


def publish_sweep() -> str:
    with published_to(WORKER_REDIS_URL, run_scheduled_work):
        return run_scheduled_work.apply_async().id


def unlocked(key) -> bool:
    """Whether nobody holds the row's lock (a killed worker's goes once PostgreSQL notices)."""
    with transaction.atomic():
        rows = Reminder.objects.select_for_update(skip_locked=True).filter(idempotency_key=key)
        return rows.exists()


def test_a_worker_killed_mid_row_leaves_no_work_done_twice_or_lost(start_worker, tmp_path):
    due = timezone.now() - timedelta(minutes=1)
    Reminder.objects.bulk_create(
        Reminder(idempotency_key=f"r{i}", due_at=due + timedelta(seconds=i)) for i in range(8)
    )
    first = start_worker("scheduling-worker-1")

    publish_sweep()
    wait_for(lambda: (tmp_path / "hanging").exists(), 30, lambda: first.log()[-3000:])
    first.kill()  # inside r3's transaction: its work was written, not committed
    wait_for(lambda: unlocked("r3"), 30, "the killed worker's transaction to end")

    states = dict(Reminder.objects.values_list("idempotency_key", "state"))
    assert [states[f"r{i}"] for i in range(8)] == [WorkState.DONE] * 3 + [WorkState.RUNNING] * 5
    # The dead worker's lease runs out (time passes: the test moves the leases, not the clock).
    Reminder.objects.filter(state=WorkState.RUNNING).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    second = start_worker("scheduling-worker-2")
    task_ids = [publish_sweep(), publish_sweep()]  # the same work published twice
    for task_id in task_ids:
        wait_for(lambda task_id=task_id: f"[{task_id}] succeeded" in second.log(), 30, second.log)

    rows = Reminder.objects.annotate(work=Count("sent")).order_by("due_at")
    assert [(r.idempotency_key, r.state, r.attempts, r.work) for r in rows] == [
        *((f"r{i}", WorkState.DONE, 1, 1) for i in range(3)),
        *((f"r{i}", WorkState.DONE, 2, 1) for i in range(3, 8)),
    ]
