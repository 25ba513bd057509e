"""Scheduled work in the database: rows that fall due, and the one sweeper that works them.

A domain whose work falls due later (an insurance reminder seven days before expiry, a booking
escalation in 48 hours, an incident's response-target check) keeps that work as rows of a concrete
subclass of `ScheduledWork`, registers a handler for it, and schedules rows with `schedule`. Far-
future work never lives in countdown/ETA tasks: a broker restart or a lost message would lose it.

    # insurance/apps.py, in ready():
    scheduling.register(DocumentReminder, reminders.send_due_reminder, max_attempts=5)
    # insurance/services.py, inside the submitting transaction:
    scheduling.schedule(DocumentReminder, key=f"doc:{doc.pk}:expiry-7d", due_at=..., document=doc)
    # ... and when the document is approved:
    scheduling.cancel(DocumentReminder.objects.filter(document=doc))

How a row moves::

    pending --claim (due)--> running --handler returned--> done
                               |-----handler raised-----> pending (due_at = now + backoff)
                               |-----raised, attempts = max_attempts----> failed
    running, lease expired --claim--> running (its worker died), or failed if attempts are spent
    pending / running --cancel--> cancelled

The handler contract. `handler(row)` runs inside the transaction that marks the row done, so the
row's work commits with that mark or not at all: a handler that raises, or a worker that dies
mid-row, leaves neither. Its database writes are therefore done exactly once. A handler must not
call the outside world itself (an e-mail, an SMS, a webhook, an AI call): a crash after the call
and before the commit would call it again. It writes outbox rows instead (`core.notifications`,
with a key derived from the row's `idempotency_key`), which are delivered after commit. A handler
finding that its work is moot (the ticket was answered meanwhile) simply returns: the row is done.

Why exactly once holds:
- the claim (one transaction per batch) selects due rows `FOR UPDATE SKIP LOCKED` and marks them
  running with a lease, `attempts + 1`: two sweepers at once take disjoint rows;
- the work transaction first marks its row done with a conditional UPDATE fenced by
  (state = running, attempts = what this claim set): a row cancelled since, or re-claimed by
  another sweeper after this one's lease ran out, matches nothing and is skipped; the UPDATE holds
  the row's lock until commit, so nobody can re-claim a row while its work is in progress;
- a redelivered or repeated sweep finds the rows done and not due.
A worker that dies leaves its rows running with a lease; once the lease has passed the next sweep
claims them again, one row per claim, so a row that kills its worker spends its own attempts and
fails alone (its batch neighbours lose one attempt to the crash they shared, no more).

Cost follows due rows, not the table: every concrete table has a partial index on
(state, due_at) holding only pending and running rows; done, cancelled and failed rows are not in
it. Each sweep is bounded (`batch_size` rows per claim, `max_batches` claims per model and run).
Call the sweep outside a transaction: a claim must commit before its work starts.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models.functions import Now
from django.utils import timezone

logger = logging.getLogger(__name__)

ERROR_MAX_CHARS = 2000
LEASE_EXPIRED = "No attempt finished within its lease (the worker died or was killed)"


class WorkState(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


IN_FLIGHT = [WorkState.PENDING, WorkState.RUNNING]


def due_index(name: str) -> models.Index:
    """The sweeper's partial index. The base class names it `<app>_<model>_due`; a concrete model
    whose name would pass Django's 30-character limit declares `indexes = [due_index("short")]`.
    """
    return models.Index(
        fields=["state", "due_at"], name=name, condition=models.Q(state__in=IN_FLIGHT)
    )


class ScheduledWork(models.Model):
    """A unit of work that falls due at `due_at`; subclass it and add what the work is about.

    `idempotency_key` names the work (`doc:42:expiry-7d`): scheduling the same key twice gives one
    row. Rows are changed by this module only (claim, done, retry, fail, cancel).
    """

    # Unique by a constraint, not `unique=True`, whose extra LIKE index no query uses.
    idempotency_key = models.CharField(max_length=200)
    due_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=WorkState.choices, default=WorkState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(
        null=True, blank=True, help_text="A running row whose lease has passed is claimed again."
    )
    finished_at = models.DateTimeField(
        null=True, blank=True, help_text="When the row became done, cancelled or failed."
    )

    class Meta:
        abstract = True
        indexes = [due_index("%(app_label)s_%(class)s_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"], name="%(app_label)s_%(class)s_key_unique"
            )
        ]

    def __str__(self):
        return f"{self.idempotency_key} ({self.state}, due {self.due_at:%Y-%m-%d %H:%M})"


# --- registry -------------------------------------------------------------------------------


def exponential_backoff(
    base: timedelta = timedelta(minutes=1), cap: timedelta = timedelta(hours=6)
) -> Callable[[int], timedelta]:
    """The wait after the n-th failed attempt: base, 2 × base, 4 × base… at most `cap`."""

    def delay(attempts: int) -> timedelta:
        return min(cap, base * 2 ** max(0, attempts - 1))

    return delay


@dataclass(frozen=True)
class Registration:
    model: type[ScheduledWork]
    handler: Callable[[ScheduledWork], object]
    batch_size: int = 100
    max_batches: int = 10
    max_attempts: int = 5
    backoff: Callable[[int], timedelta] = exponential_backoff()
    # Longer than CELERY_TASK_TIME_LIMIT, so a live sweep is never overtaken (which would be safe,
    # only wasteful); a dead worker's rows wait this long before they are claimed again.
    lease: timedelta = timedelta(minutes=10)


_registry: dict[str, Registration] = {}


def register(model: type[ScheduledWork], handler, **options) -> Registration:
    """Have the sweeper work the due rows of `model` with `handler(row)`; call it in `ready()`.

    Options: `batch_size`, `max_batches` (per run), `max_attempts`, `backoff` (attempts →
    timedelta) and `lease` (see `Registration`).
    """
    if not (isinstance(model, type) and issubclass(model, ScheduledWork)):
        raise ImproperlyConfigured(f"{model!r} is not a ScheduledWork model")
    label = model._meta.label
    if label in _registry:
        raise ImproperlyConfigured(f"{label} is registered for scheduled work already")
    registration = Registration(model, handler, **options)
    if registration.batch_size < 1 or registration.max_attempts < 1:
        raise ImproperlyConfigured("batch_size and max_attempts must be at least 1")
    _registry[label] = registration
    return registration


def registrations() -> list[Registration]:
    return list(_registry.values())


# --- scheduling and cancelling --------------------------------------------------------------


def schedule(model: type[ScheduledWork], *, key: str, due_at: datetime, **fields) -> ScheduledWork:
    """The row of `model` for `key`, created pending at `due_at` with `fields` if there is none.

    Idempotent: the same key twice gives one row, and the first one wins (a later call with other
    fields returns the row as it is; a cancelled or done row is not revived). To move work, cancel
    it and schedule it under a new key. Race-free: a concurrent insert of the same key waits on
    the unique index, then does nothing. Call it in the transaction of the change that causes it.
    """
    if not key:
        raise ValueError("Scheduled work needs an idempotency key")
    if timezone.is_naive(due_at):
        raise ValueError("due_at must be an aware datetime")
    row = model(idempotency_key=key, due_at=due_at, **fields)
    model._base_manager.bulk_create([row], ignore_conflicts=True)
    return model._base_manager.get(idempotency_key=key)


def schedule_many(model: type[ScheduledWork], rows: Iterable[ScheduledWork]) -> int:
    """Insert unsaved rows of `model` in one statement, skipping keys that exist; returns count
    given (not created: the database does not say which conflicted)."""
    rows = list(rows)
    for row in rows:
        if not row.idempotency_key or timezone.is_naive(row.due_at):
            raise ValueError(f"{row!r} needs an idempotency key and an aware due_at")
    model._base_manager.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def cancel(queryset: models.QuerySet) -> int:
    """Cancels the pending and running rows of `queryset` in one UPDATE; returns how many.

    A running row whose work has not begun is skipped when its sweeper gets to it; one whose work
    is in progress holds its lock, so the cancel waits, then finds it done and leaves it. Done,
    failed and cancelled rows are left as they are.
    """
    if not issubclass(queryset.model, ScheduledWork):
        raise TypeError(f"{queryset.model!r} is not a ScheduledWork model")
    return queryset.filter(state__in=IN_FLIGHT).update(
        state=WorkState.CANCELLED, finished_at=Now(), lease_until=None
    )


# --- the sweeper ----------------------------------------------------------------------------


@dataclass
class Swept:
    """What one sweep of one model did."""

    done: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0  # claimed, then cancelled or re-claimed elsewhere before its work began

    def __bool__(self):
        return bool(self.done or self.retrying or self.failed or self.skipped)


DUE_ORDER = ("due_at",)
# Oldest lease first: a row that killed its worker again has a new lease and goes last.
ABANDONED_ORDER = ("lease_until", "due_at")


def _due(model, now):
    return model._base_manager.filter(state=WorkState.PENDING, due_at__lte=now).order_by(*DUE_ORDER)


def _abandoned(model, now):
    return model._base_manager.filter(state=WorkState.RUNNING, lease_until__lt=now).order_by(
        *ABANDONED_ORDER
    )


def _claim(registration: Registration, claimable, order, limit: int, now, swept: Swept) -> list:
    """Marks up to `limit` rows of `claimable` running with a lease; returns them as claimed.

    Rows of a dead worker that have spent their attempts are failed here instead.
    """
    model = registration.model
    with transaction.atomic():
        ids = list(
            claimable.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return []
        # The rows are locked (on SQLite, writers are serialised): each selected is still there.
        exhausted = model._base_manager.filter(
            pk__in=ids, state=WorkState.RUNNING, attempts__gte=registration.max_attempts
        ).update(
            state=WorkState.FAILED, finished_at=Now(), lease_until=None, last_error=LEASE_EXPIRED
        )
        if exhausted:
            swept.failed += exhausted
            logger.error("%s: %s rows failed, their workers died", model._meta.label, exhausted)
        model._base_manager.filter(pk__in=ids, state__in=IN_FLIGHT).update(
            state=WorkState.RUNNING,
            attempts=models.F("attempts") + 1,
            claimed_at=now,
            lease_until=now + registration.lease,
        )
        return list(
            model._base_manager.filter(pk__in=ids, state=WorkState.RUNNING).order_by(*order)
        )


def _work(registration: Registration, row, now, swept: Swept) -> None:
    model = registration.model
    owned = model._base_manager.filter(pk=row.pk, state=WorkState.RUNNING, attempts=row.attempts)
    try:
        with transaction.atomic():
            if not owned.update(state=WorkState.DONE, finished_at=Now(), lease_until=None):
                swept.skipped += 1
                return
            row.state, row.lease_until = WorkState.DONE, None
            registration.handler(row)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS]
        if row.attempts >= registration.max_attempts:
            change = {"state": WorkState.FAILED, "finished_at": Now()}
        else:
            change = {
                "state": WorkState.PENDING,
                "due_at": now + registration.backoff(row.attempts),
            }
        if not owned.update(lease_until=None, last_error=error, **change):
            swept.skipped += 1  # cancelled meanwhile
        elif change["state"] == WorkState.FAILED:
            swept.failed += 1
            logger.error(
                "%s %s failed for good after %s attempts",
                model._meta.label,
                row.idempotency_key,
                row.attempts,
                exc_info=True,
            )
        else:
            swept.retrying += 1
            logger.warning(
                "%s %s attempt %s raised: %s",
                model._meta.label,
                row.idempotency_key,
                row.attempts,
                error,
            )
        return
    swept.done += 1


def sweep_model(registration: Registration, *, now: datetime | None = None) -> Swept:
    """Works the due rows of one registered model; bounded by `batch_size` × `max_batches`.

    `now` fixes the clock (tests); by default each claim reads the clock afresh.
    """
    swept = Swept()

    def clock():
        return now or timezone.now()

    # A dead worker's rows, one per claim: a row that kills its worker then fails alone.
    for _ in range(registration.batch_size):
        at = clock()
        rows = _claim(
            registration, _abandoned(registration.model, at), ABANDONED_ORDER, 1, at, swept
        )
        if not rows:
            break
        _work(registration, rows[0], at, swept)
    for _ in range(registration.max_batches):
        at = clock()
        rows = _claim(
            registration,
            _due(registration.model, at),
            DUE_ORDER,
            registration.batch_size,
            at,
            swept,
        )
        for row in rows:
            _work(registration, row, clock(), swept)
        if len(rows) < registration.batch_size:
            break
    if swept:
        logger.info("scheduled work %s: %s", registration.model._meta.label, swept)
    return swept


def sweep(*, now: datetime | None = None) -> dict[str, Swept]:
    """Sweeps every registered model; one model's error is logged and does not stop the others."""
    results = {}
    for registration in registrations():
        label = registration.model._meta.label
        try:
            results[label] = sweep_model(registration, now=now)
        except Exception:
            logger.exception("Scheduled work %s: the sweep failed; the next one carries on", label)
    return results
