"""The SQL and parameters the ORM would run for a queryset, to wrap it in a query the ORM
cannot write (PostgreSQL GROUPING SETS around a filtered range).

Relies on `QuerySet.query.sql_with_params()`, which compiles for the default connection and
raises `EmptyResultSet` for a queryset that can match nothing.
"""

from django.core.exceptions import EmptyResultSet

__all__ = ["EmptyResultSet", "sql_and_params"]


def sql_and_params(queryset) -> tuple[str, tuple]:
    """`(sql, params)` of `queryset`; raises `EmptyResultSet` when it can match nothing."""
    return queryset.query.sql_with_params()
