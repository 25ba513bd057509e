"""Model instances from hand-written SQL, for the few hot paths where building the query shows.

The ORM spends about a millisecond composing a three-table join with an aggregate; on a path
every API request takes (token authentication) that is a tenth of the request. `ModelColumns`
keeps the column list of a model under an alias and turns a slice of a result row back into an
instance exactly as the ORM would (the same database converters, `Model.from_db`).
"""

from functools import cached_property

from django.db import connection


class ModelColumns:
    def __init__(self, model, alias: str):
        self.model = model
        self.alias = alias
        self.fields = list(model._meta.concrete_fields)

    @cached_property
    def sql(self) -> str:
        quote = connection.ops.quote_name
        return ", ".join(f"{self.alias}.{quote(field.column)}" for field in self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    @cached_property
    def _converters(self):
        converters = []
        for index, field in enumerate(self.fields):
            column = field.get_col(self.alias)
            found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
            if found:
                converters.append((index, column, found))
        return converters

    @cached_property
    def _pk_index(self) -> int:
        return self.fields.index(self.model._meta.pk)

    @cached_property
    def _attnames(self) -> list[str]:
        return [field.attname for field in self.fields]

    def load(self, values):
        """The instance for `values` (its columns, in order); None for an outer-join miss."""
        values = list(values)
        if values[self._pk_index] is None:
            return None
        for index, column, converters in self._converters:
            for convert in converters:
                values[index] = convert(values[index], column, connection)
        return self.model.from_db(connection.alias, self._attnames, values)
