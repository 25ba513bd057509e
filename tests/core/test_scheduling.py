"""Scheduled work (`core.scheduling`): each due row's work is done once, whatever happens.

The concrete work is the test app's `Reminder` (tests/scheduling_app): its handler records a
`ReminderSent` row (the row's work) and an outbox SMS, and raises while the row's attempts are at
most `fail_attempts`. Time is passed as `now=`; nothing here sleeps.
"""

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Count

from core import scheduling
from core.models import OutboxMessage
from core.scheduling import Registration, WorkState
from core.tasks import run_scheduled_work
from tests.concurrency import assert_outcomes, run_concurrently
from tests.scheduling_app.handlers import send_reminder
from tests.scheduling_app.models import Reminder, ReminderSent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)


@pytest.fixture
def use(monkeypatch):
    """Registers `Reminder` (alone) with `handler` and options for the duration of a test."""

    def use(handler=send_reminder, **options):
        options = {"batch_size": 20, "max_attempts": 3, "lease": LEASE, **options}
        registration = Registration(Reminder, handler, **options)
        monkeypatch.setattr(scheduling, "_registry", {Reminder._meta.label: registration})
        return registration

    return use


def reminders(count, *, due=T0 - timedelta(minutes=1), prefix="r", **fields):
    """`count` pending reminders, one minute apart, the last due at `due`; in due order."""
    scheduling.schedule_many(
        Reminder,
        (
            Reminder(
                idempotency_key=f"{prefix}{i}", due_at=due - timedelta(minutes=count - i), **fields
            )
            for i in range(count)
        ),
    )
    return list(Reminder.objects.filter(idempotency_key__startswith=prefix).order_by("due_at"))


def work_counts():
    """{reminder key: how many times its work was done (committed)}."""
    return dict(Reminder.objects.annotate(n=Count("sent")).values_list("idempotency_key", "n"))


# --- scheduling and registering -------------------------------------------------------------


@pytest.mark.django_db
class TestSchedule:
    def test_the_same_key_twice_gives_one_row_and_the_first_wins(self):
        first = scheduling.schedule(Reminder, key="doc:1:expiry-7d", due_at=T0, recipient="+1")
        again = scheduling.schedule(
            Reminder, key="doc:1:expiry-7d", due_at=T0 + timedelta(days=1), recipient="+2"
        )

        assert again.pk == first.pk
        assert Reminder.objects.count() == 1
        assert (again.due_at, again.recipient, again.state) == (T0, "+1", WorkState.PENDING)

    def test_a_cancelled_key_is_not_revived(self):
        row = scheduling.schedule(Reminder, key="k", due_at=T0)
        scheduling.cancel(Reminder.objects.filter(pk=row.pk))

        assert scheduling.schedule(Reminder, key="k", due_at=T0).state == WorkState.CANCELLED

    def test_refuses_naive_times_and_empty_keys(self):
        with pytest.raises(ValueError):
            scheduling.schedule(Reminder, key="k", due_at=datetime(2026, 3, 2, 9, 0))
        with pytest.raises(ValueError):
            scheduling.schedule(Reminder, key="", due_at=T0)

    def test_register_refuses_other_models_and_a_second_registration(self):
        with pytest.raises(ImproperlyConfigured):
            scheduling.register(ReminderSent, send_reminder)
        # The test app registered Reminder in its ready().
        with pytest.raises(ImproperlyConfigured):
            scheduling.register(Reminder, send_reminder)
        assert [r.model for r in scheduling.registrations()].count(Reminder) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_schedules_of_one_key_give_one_row():
    outcomes = run_concurrently(
        lambda i: scheduling.schedule(Reminder, key="same", due_at=T0, recipient=str(i)).pk,
        [(i,) for i in range(6)],
    )

    pks = assert_outcomes(outcomes, succeeded=6)
    assert len(set(pks)) == 1
    assert Reminder.objects.count() == 1


# --- sweeping -------------------------------------------------------------------------------


@pytest.mark.django_db
class TestSweep:
    def test_works_due_rows_only_in_bounded_batches(self, use):
        registration = use(batch_size=20, max_batches=2)
        reminders(50)
        future = scheduling.schedule(Reminder, key="later", due_at=T0 + timedelta(seconds=1))

        first = scheduling.sweep_model(registration, now=T0)
        second = scheduling.sweep_model(registration, now=T0)

        assert (first.done, second.done) == (40, 10)
        counts = work_counts()
        assert counts.pop("later") == 0 and set(counts.values()) == {1}
        future.refresh_from_db()
        assert future.state == WorkState.PENDING and future.attempts == 0
        done = Reminder.objects.exclude(pk=future.pk)
        assert set(done.values_list("state", "attempts")) == {(WorkState.DONE, 1)}
        assert not done.filter(finished_at__isnull=True).exists()

    def test_a_repeated_or_redelivered_sweep_does_nothing_again(self):
        # The registration of the test app's ready(), through the beat task itself.
        reminders(5, due=datetime.now(UTC) - timedelta(minutes=1))

        first = run_scheduled_work()
        second = run_scheduled_work()

        assert first["scheduling_app.Reminder"] == {
            "done": 5,
            "retrying": 0,
            "failed": 0,
            "skipped": 0,
        }
        assert second["scheduling_app.Reminder"]["done"] == 0
        assert set(work_counts().values()) == {1}

    def test_the_handler_s_outbox_rows_are_written_with_the_work(self, use):
        registration = use()
        reminders(1, prefix="ok", recipient="+15550001")
        reminders(1, prefix="bad", recipient="+15550002", fail_attempts=1)

        scheduling.sweep_model(registration, now=T0)

        assert list(OutboxMessage.objects.values_list("key", "channel", "recipient")) == [
            ("reminder:ok0:sms", "sms", "+15550001")
        ]

    def test_a_failing_handler_retries_with_backoff_then_fails_and_the_batch_carries_on(self, use):
        backoff = scheduling.exponential_backoff(timedelta(minutes=1))
        registration = use(max_attempts=3, backoff=backoff)
        rows = reminders(5)
        broken, flaky = rows[1], rows[3]
        Reminder.objects.filter(pk=broken.pk).update(fail_attempts=99)
        Reminder.objects.filter(pk=flaky.pk).update(fail_attempts=1)

        swept = scheduling.sweep_model(registration, now=T0)

        assert (swept.done, swept.retrying, swept.failed) == (3, 2, 0)
        broken.refresh_from_db()
        assert (broken.state, broken.attempts) == (WorkState.PENDING, 1)
        assert broken.due_at == T0 + timedelta(minutes=1)
        assert broken.last_error == "ReminderFailed: attempt 1 failed on purpose"
        assert broken.lease_until is None
        # What the handler wrote before raising was rolled back with it.
        assert work_counts() == {"r0": 1, "r1": 0, "r2": 1, "r3": 0, "r4": 1}

        assert not scheduling.sweep_model(registration, now=T0)  # not due again yet
        swept = scheduling.sweep_model(registration, now=T0 + timedelta(minutes=1))
        assert (swept.done, swept.retrying) == (1, 1)  # the flaky one succeeds on attempt 2
        broken.refresh_from_db()
        assert (broken.attempts, broken.due_at) == (2, T0 + timedelta(minutes=3))
        assert list(
            ReminderSent.objects.filter(reminder=flaky).values_list("attempt", flat=True)
        ) == [2]

        swept = scheduling.sweep_model(registration, now=T0 + timedelta(minutes=3))
        assert swept.failed == 1
        broken.refresh_from_db()
        assert (broken.state, broken.attempts) == (WorkState.FAILED, 3)
        assert broken.finished_at is not None
        assert not scheduling.sweep_model(registration, now=T0 + timedelta(days=30))
        assert work_counts() == {"r0": 1, "r1": 0, "r2": 1, "r3": 1, "r4": 1}

    def test_cancel_is_set_based_and_leaves_finished_rows_alone(self, use):
        registration = use()
        done = reminders(2, prefix="done")
        scheduling.sweep_model(registration, now=T0)
        reminders(3, prefix="open")
        reminders(1, prefix="open-later", due=T0 + timedelta(days=7))

        cancelled = scheduling.cancel(Reminder.objects.filter(idempotency_key__startswith="o"))
        again = scheduling.cancel(Reminder.objects.all())

        assert (cancelled, again) == (4, 0)
        assert {r.state for r in Reminder.objects.exclude(pk__in=[r.pk for r in done])} == {
            WorkState.CANCELLED
        }
        assert set(
            Reminder.objects.filter(pk__in=[r.pk for r in done]).values_list("state", flat=True)
        ) == {WorkState.DONE}
        assert not scheduling.sweep_model(registration, now=T0 + timedelta(days=30))

    def test_a_row_cancelled_after_its_claim_is_skipped(self, use):
        # The first row's handler cancels the second, already claimed in the same batch.
        def handler(row):
            send_reminder(row)
            scheduling.cancel(Reminder.objects.filter(idempotency_key="r1"))

        registration = use(handler=handler)
        reminders(2)

        swept = scheduling.sweep_model(registration, now=T0)

        assert (swept.done, swept.skipped) == (1, 1)
        assert work_counts() == {"r0": 1, "r1": 0}
        assert Reminder.objects.get(idempotency_key="r1").state == WorkState.CANCELLED


class WorkerDied(BaseException):
    """Stands for the process dying mid-row: nothing in the sweeper may catch it."""


@pytest.mark.django_db
class TestDeadWorkers:
    def test_a_worker_dying_mid_row_leaves_its_rows_to_the_next_sweep_after_the_lease(self, use):
        died = []

        def handler(row):
            send_reminder(row)
            if row.idempotency_key == "r1" and not died:
                died.append(row.pk)
                raise WorkerDied

        registration = use(handler=handler)
        reminders(3)

        with pytest.raises(WorkerDied):
            scheduling.sweep_model(registration, now=T0)
        assert work_counts() == {"r0": 1, "r1": 0, "r2": 0}
        running = Reminder.objects.filter(state=WorkState.RUNNING)
        assert set(running.values_list("idempotency_key", "lease_until")) == {
            ("r1", T0 + LEASE),
            ("r2", T0 + LEASE),
        }

        assert not scheduling.sweep_model(registration, now=T0 + LEASE)  # leases still held
        swept = scheduling.sweep_model(registration, now=T0 + LEASE + timedelta(seconds=1))

        assert swept.done == 2
        assert work_counts() == {"r0": 1, "r1": 1, "r2": 1}
        assert set(Reminder.objects.values_list("idempotency_key", "state", "attempts")) == {
            ("r0", WorkState.DONE, 1),
            ("r1", WorkState.DONE, 2),
            ("r2", WorkState.DONE, 2),
        }

    def test_a_row_that_always_kills_its_worker_fails_alone(self, use):
        def handler(row):
            send_reminder(row)
            if row.idempotency_key == "r0":
                raise WorkerDied

        registration = use(handler=handler, max_attempts=3)
        reminders(3)
        now = T0
        for _ in range(3):  # attempts 1, 2, 3 of r0 each kill the worker
            with pytest.raises(WorkerDied):
                scheduling.sweep_model(registration, now=now)
            now += LEASE + timedelta(seconds=1)

        scheduling.sweep_model(registration, now=now)

        poison = Reminder.objects.get(idempotency_key="r0")
        assert (poison.state, poison.attempts) == (WorkState.FAILED, 3)
        assert poison.last_error == scheduling.LEASE_EXPIRED
        assert work_counts() == {"r0": 0, "r1": 1, "r2": 1}
        # Its neighbours lost the one attempt of the crash they shared, no more.
        assert set(Reminder.objects.exclude(pk=poison.pk).values_list("state", "attempts")) == {
            (WorkState.DONE, 2)
        }


# --- concurrency (PostgreSQL, real threads, a connection each) -------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_or_more_sweepers_at_once_do_each_row_s_work_once(use):
    threads = 4
    # Every sweeper holds its first row until all have claimed a batch: they really overlap.
    all_claimed = threading.Barrier(threads, timeout=30)
    first_row = threading.local()

    def handler(row):
        if not getattr(first_row, "seen", False):
            first_row.seen = True
            all_claimed.wait()
        send_reminder(row)

    registration = use(handler=handler, batch_size=10, max_batches=100)
    reminders(200)

    outcomes = run_concurrently(
        lambda: scheduling.sweep_model(registration, now=T0), [()] * threads
    )

    swept = assert_outcomes(outcomes, succeeded=threads)
    assert sum(s.done for s in swept) == 200
    assert all(s.done >= 10 for s in swept)
    assert sum(s.skipped + s.retrying + s.failed for s in swept) == 0
    assert set(work_counts().values()) == {1}
    assert set(Reminder.objects.values_list("state", "attempts")) == {(WorkState.DONE, 1)}


@pytest.mark.django_db(transaction=True)
def test_a_slow_sweeper_overtaken_after_its_lease_does_no_row_twice(use):
    """A's lease runs out while it is inside its first row; B claims A's other rows and does them.

    B must skip the row A is working on (it is locked), and A must skip the rows B took.
    """
    a_inside, b_finished = threading.Event(), threading.Event()

    def handler(row):
        send_reminder(row)
        if threading.current_thread().name == "A" and row.idempotency_key == "r0":
            a_inside.set()
            assert b_finished.wait(timeout=30)

    registration = use(handler=handler, batch_size=10)
    reminders(5)
    results = {}

    def sweeper(name, now, wait_for=None):
        threading.current_thread().name = name
        try:
            if wait_for is not None:
                assert wait_for.wait(timeout=30)
            results[name] = scheduling.sweep_model(registration, now=now)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            results[name] = exc
        finally:
            if name == "B":
                b_finished.set()
            connection.close()

    a = threading.Thread(target=sweeper, args=("A", T0))
    b = threading.Thread(target=sweeper, args=("B", T0 + LEASE + timedelta(seconds=1), a_inside))
    a.start(), b.start()
    a.join(timeout=60), b.join(timeout=60)

    assert not a.is_alive() and not b.is_alive()
    assert (results["A"].done, results["A"].skipped) == (1, 4), results
    assert (results["B"].done, results["B"].skipped) == (4, 0), results
    assert set(work_counts().values()) == {1}
    assert Reminder.objects.get(idempotency_key="r0").attempts == 1
    assert set(
        Reminder.objects.exclude(idempotency_key="r0").values_list("attempts", flat=True)
    ) == {2}


# --- cost -----------------------------------------------------------------------------------


def plan_nodes(node):
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


@pytest.mark.django_db
def test_the_claim_reads_only_due_rows_from_the_partial_index():
    finished = [
        Reminder(idempotency_key=f"old{i}", due_at=T0 - timedelta(hours=i), state=state)
        for i, state in enumerate([WorkState.DONE, WorkState.CANCELLED, WorkState.FAILED] * 1000)
    ]
    Reminder.objects.bulk_create(finished)
    reminders(7, prefix="due")
    reminders(30, prefix="later", due=T0 + timedelta(days=3))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Reminder._meta.db_table}")

    with transaction.atomic():
        claim = (
            scheduling._due(Reminder, T0)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:20]
        )
        plan = claim.explain(format="json", analyze=True)

    nodes = list(plan_nodes(json.loads(plan)[0]["Plan"]))
    assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], plan
    assert {n["Index Name"] for n in nodes if "Index Name" in n} == {"scheduling_app_reminder_due"}
    # Three thousand finished rows, thirty not yet due: the table is read for the seven due ones.
    # (Counted on the nodes that read the table: an index's own count may include dead entries
    # that rolled-back tests left behind.)
    [table_scan] = [n for n in nodes if n.get("Relation Name") == Reminder._meta.db_table]
    assert table_scan["Actual Rows"] == 7, plan
    assert table_scan.get("Rows Removed by Filter", 0) == 0, plan
