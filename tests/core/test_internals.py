"""Contract tests of the private Django APIs `core.internals` relies on (written for Django 5.2).

A failure here after a Django upgrade means one of those modules must change: the message says
which API moved. Each test exercises the behaviour the module relies on, not just a name.
"""

import inspect

import django
import pytest
from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.constants import OnConflict

from core.internals import on_commit
from core.internals.insert import insert_ignoring_conflicts
from core.internals.rows import ModelColumns
from core.models import OutboxMessage, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHECKED_ON = (5, 2)


def test_the_django_these_contracts_were_checked_on():
    assert django.VERSION[:2] == CHECKED_ON, (
        f"Django {django.get_version()}: re-check core/internals against this release, then "
        "update CHECKED_ON"
    )


def test_queryset_insert_takes_conflict_handling_and_returning_fields():
    parameters = inspect.signature(QuerySet._insert).parameters
    assert {"objs", "fields", "returning_fields", "on_conflict"} <= set(parameters), (
        "QuerySet._insert changed its signature: core/internals/insert.py must follow"
    )
    assert OnConflict.IGNORE.value == "ignore"


FIELDS = [f for f in OutboxMessage._meta.concrete_fields if not f.primary_key]
RETURNING = [OutboxMessage._meta.pk, OutboxMessage._meta.get_field("key")]


def _message(key):
    message = OutboxMessage(key=key, channel="email", recipient="a@example.com", headers={})
    for field in FIELDS:
        if getattr(message, field.attname) is None and field.has_default():
            setattr(message, field.attname, field.get_default())
    return message


def test_insert_returns_the_columns_of_exactly_the_rows_inserted():
    first = _message("contract:a")
    inserted = insert_ignoring_conflicts(OutboxMessage, [first], fields=FIELDS, returning=RETURNING)
    assert len(inserted) == 1 and inserted[0][1] == "contract:a"
    assert OutboxMessage.objects.get(key="contract:a").pk == inserted[0][0]

    inserted = insert_ignoring_conflicts(
        OutboxMessage,
        [_message("contract:a"), _message("contract:b")],
        fields=FIELDS,
        returning=RETURNING,
    )
    assert [row[1] for row in inserted] == ["contract:b"], "a clashing row must be skipped"
    assert OutboxMessage.objects.filter(key__startswith="contract:").count() == 2


def test_pending_commit_callbacks_are_listed_and_pruned_by_a_savepoint_rollback():
    with transaction.atomic():
        assert on_commit.in_transaction()
        entries_before = list(connection.run_on_commit)

        def kept():
            pass

        def dropped():
            pass

        transaction.on_commit(kept)
        entry = connection.run_on_commit[-1]
        assert len(entry) == 3 and entry[1] is kept, (
            "connection.run_on_commit entries are no longer (savepoint ids, callback, robust): "
            "core/internals/on_commit.py must follow"
        )
        try:
            with transaction.atomic():
                transaction.on_commit(dropped)
                assert on_commit.is_pending(dropped)
                raise RuntimeError("roll the savepoint back")
        except RuntimeError:
            pass
        assert on_commit.is_pending(kept)
        assert not on_commit.is_pending(dropped), "a rolled-back savepoint kept its callback"
        assert len(connection.run_on_commit) == len(entries_before) + 1


def test_connection_state_is_one_dict_per_connection():
    state = on_commit.connection_state("contract")
    state["x"] = 1
    assert on_commit.connection_state("contract") is state


def test_rows_come_back_as_the_orm_would_load_them():
    user = UserFactory(full_name="Zoë Contract")
    columns = ModelColumns(User, "u")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns.sql} FROM {connection.ops.quote_name(User._meta.db_table)} u "
            "WHERE u.id = %s",
            [user.pk],
        )
        loaded = columns.load(cursor.fetchone())
    expected = User.objects.get(pk=user.pk)
    for field in User._meta.concrete_fields:
        assert getattr(loaded, field.attname) == getattr(expected, field.attname), field.name
        assert type(getattr(loaded, field.attname)) is type(getattr(expected, field.attname))
    assert loaded._state.adding is False and loaded._state.db == expected._state.db
    assert columns.load([None] * len(columns)) is None


def test_a_querysets_sql_and_params_are_what_the_orm_runs():
    from django.core.exceptions import EmptyResultSet

    from core.internals.sql import sql_and_params

    UserFactory(email="contract-sql@example.com")
    queryset = User.objects.filter(email="contract-sql@example.com").values("email")
    sql, params = sql_and_params(queryset)
    assert "contract-sql@example.com" in params and "%s" in sql
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        assert cursor.fetchall() == [("contract-sql@example.com",)]
    with pytest.raises(EmptyResultSet):
        sql_and_params(User.objects.filter(pk__in=[]))


def test_the_connection_and_model_apis_bulk_insert_uses_are_there():
    from django.db.backends.postgresql import psycopg_any

    for name in (
        "close_if_health_check_failed",
        "ensure_connection",
        "validate_thread_sharing",
        "wrap_database_errors",
        "make_cursor",
        "make_debug_cursor",
        "queries_logged",
    ):
        assert hasattr(connection, name), (
            f"connection.{name} is gone: core/internals/bulk_insert.py must follow"
        )
    assert psycopg_any.is_psycopg3
    assert hasattr(OutboxMessage, "_prepare_related_fields_for_save")


def test_bulk_insert_is_seen_by_statement_counters_and_wraps_database_errors():
    from django.db import IntegrityError
    from django.test.utils import CaptureQueriesContext

    from core.internals.bulk_insert import can_insert_rows, insert_rows

    assert can_insert_rows(OutboxMessage)
    with CaptureQueriesContext(connection) as queries:
        rows = insert_rows(
            OutboxMessage, [_message("contract:bulk:1"), _message("contract:bulk:2")]
        )
    assert len(rows) == 2 and len(queries) == 1 and "unnest" in queries[0]["sql"]
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(OutboxMessage, [_message("contract:bulk:1")])  # a Django error, not psycopg's


def test_bulk_insert_refuses_an_unsaved_related_object_as_bulk_create_does():
    from core.internals.bulk_insert import insert_rows

    message = _message("contract:bulk:unsaved")
    message.recipient_user = User(email="unsaved@example.com")
    with pytest.raises(ValueError, match="unsaved related object"):
        insert_rows(OutboxMessage, [message])
