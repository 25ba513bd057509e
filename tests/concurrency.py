"""Running work in threads for concurrency tests, so that no thread's outcome goes unseen.

    outcomes = run_concurrently(claim, [(first.pk,), (second.pk,)])
    [winner] = assert_outcomes(outcomes, succeeded=1, failed={Conflict: 1})

Each call runs in its own thread, so with its own database connection (a transaction of its
own: use `django_db(transaction=True)`), and all are released at the same moment by a barrier.
Every thread's result or exception is kept; `assert_outcomes` checks how many succeeded and
that the others raised exactly the expected exceptions, and fails with the traceback of any
other exception. A thread that hangs fails the test too.
"""

import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections

BARRIER_SECONDS = 30  # every thread reaches the start line long before this, or one died first


@dataclass(frozen=True)
class Outcome:
    args: tuple
    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def run_concurrently(
    fn: Callable[..., Any], args_list: Iterable[Sequence], *, timeout: float = 60
) -> list[Outcome]:
    """`fn(*args)` for each args, each in its own thread, started together; outcomes in order.

    Each thread closes its database connections when it ends (the test database is dropped at
    the end of the run, and an open connection would hold it).
    """
    args_list = [tuple(args) for args in args_list]
    barrier = threading.Barrier(len(args_list))
    outcomes: list[Outcome | None] = [None] * len(args_list)

    def work(index, args):
        try:
            barrier.wait(timeout=BARRIER_SECONDS)
            outcomes[index] = Outcome(args, value=fn(*args))
        except BaseException as exc:  # noqa: BLE001 - every outcome is checked by the caller
            outcomes[index] = Outcome(args, error=exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=work, args=(index, args), daemon=True, name=f"concurrent-{index}")
        for index, args in enumerate(args_list)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    hung = [thread.name for thread in threads if thread.is_alive()]
    assert not hung, f"{len(hung)} of {len(threads)} threads still running after {timeout}s"
    return outcomes  # type: ignore[return-value] - every thread has finished and stored one


def assert_outcomes(
    outcomes: list[Outcome],
    *,
    succeeded: int,
    failed: dict[type[BaseException], int] | None = None,
) -> list:
    """Exactly `succeeded` calls returned, and the rest raised the `failed` exceptions (type:
    count, subclasses included). Returns the values of the calls that succeeded, in order."""
    failed = failed or {}
    errors = [o.error for o in outcomes if not o.ok]
    unexpected = [e for e in errors if not isinstance(e, tuple(failed))]
    if unexpected:
        raise AssertionError(
            f"{len(unexpected)} of {len(outcomes)} threads raised unexpectedly; the first:\n"
            + "".join(traceback.format_exception(unexpected[0]))
        ) from unexpected[0]
    counts = Counter(next(t for t in failed if isinstance(e, t)) for e in errors)
    values = [o.value for o in outcomes if o.ok]
    assert (len(values), dict(counts)) == (succeeded, {t: n for t, n in failed.items() if n}), (
        f"{len(values)} succeeded and {dict(counts)} failed; expected {succeeded} and {failed}:"
        f" {[repr(e) for e in errors]}"
    )
    return values


__all__ = ["Outcome", "assert_outcomes", "run_concurrently"]
