import datetime as dt

import pytest
from django.db import connection, transaction

from core.numbering import _next_from_counter, daily_number, next_value, sequential_number
from tests.concurrency import assert_outcomes, run_concurrently

AT = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
FRESH_DAY = dt.datetime(2031, 1, 1, 12, 0, tzinfo=dt.UTC)  # a scope no other test touches


@pytest.mark.django_db
def test_daily_numbers_count_up_per_prefix_and_day():
    with transaction.atomic():
        assert daily_number("TKT", at=AT) == "TKT-20261125-0001"
        assert daily_number("TKT", at=AT) == "TKT-20261125-0002"
        assert daily_number("INC", at=AT) == "INC-20261125-0001"
        assert daily_number("TKT", at=AT + dt.timedelta(days=1)) == "TKT-20261126-0001"


@pytest.mark.django_db
def test_the_day_is_the_utc_day():
    late_in_new_york = dt.datetime(2026, 11, 25, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    with transaction.atomic():
        assert daily_number("TKT", at=late_in_new_york).startswith("TKT-20261126-")


@pytest.mark.django_db
def test_numbers_widen_past_the_width_instead_of_wrapping():
    with transaction.atomic():
        sequential_number("KB")
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval('numbering_kb', 99999)")
        assert sequential_number("KB") == "KB-100000"


@pytest.mark.django_db
def test_a_rolled_back_creation_never_leads_to_a_duplicate():
    """PostgreSQL sequences do not take a number back: a gap, never a second use."""
    with transaction.atomic():
        first = next_value("ROLL")
    with pytest.raises(RuntimeError), transaction.atomic():
        lost = next_value("ROLL")
        raise RuntimeError("creation failed")
    with transaction.atomic():
        assert next_value("ROLL") > lost > first


@pytest.mark.django_db
def test_the_counter_of_the_embedded_mode_gives_a_rolled_back_number_back():
    """The SQLite path (a counter row in the transaction) is plain SQL that PostgreSQL runs too."""
    with pytest.raises(RuntimeError), transaction.atomic():
        assert _next_from_counter("EMB") == 1
        raise RuntimeError("creation failed")
    with transaction.atomic():
        assert _next_from_counter("EMB") == 1
        assert _next_from_counter("EMB") == 2


@pytest.mark.django_db
def test_scopes_are_checked_before_they_reach_sql():
    with pytest.raises(ValueError), transaction.atomic():
        next_value("TKT; DROP TABLE x")


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        next_value("X")


@pytest.mark.django_db(transaction=True)
def test_concurrent_creators_never_share_a_number():
    """Many threads, each in its own PostgreSQL transaction: no duplicate and no error."""
    assert connection.vendor == "postgresql"
    threads_count, per_thread = 16, 25

    def create_many():
        numbers = []
        for _ in range(per_thread):
            with transaction.atomic():
                numbers.append(daily_number("TKT", at=FRESH_DAY))
        return numbers

    outcomes = run_concurrently(create_many, [()] * threads_count)

    numbers = [n for batch in assert_outcomes(outcomes, succeeded=threads_count) for n in batch]
    assert len(numbers) == threads_count * per_thread
    assert len(set(numbers)) == len(numbers)
    expected = {f"TKT-20310101-{n:04d}" for n in range(1, threads_count * per_thread + 1)}
    assert set(numbers) == expected


@pytest.mark.django_db
def test_the_migration_to_sequences_continues_the_counters():
    """Numbers handed out by counter rows before core/0003 are never handed out again."""
    from django.db import connection as conn
    from django.db.migrations.executor import MigrationExecutor

    from core.models import NumberCounter

    NumberCounter.objects.create(scope="TKT-20300101", last_value=41)
    executor = MigrationExecutor(conn)
    create = executor.loader.get_migration("core", "0003_numbering_function").operations[0]
    state = executor.loader.project_state(("core", "0003_numbering_function"))
    with conn.schema_editor(atomic=False) as editor:
        create.code(state.apps, editor)
    with transaction.atomic():
        assert daily_number("TKT", at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)) == "TKT-20300101-0042"
