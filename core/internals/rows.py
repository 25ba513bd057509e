"""Model instances from hand-written SQL, for the few hot paths where building the query shows.

The ORM spends about a millisecond composing a three-table join with an aggregate; on a path
every API request takes (token authentication) that is a tenth of the request. `ModelColumns`
keeps the column list of a model under an alias and turns a slice of a result row back into an
instance exactly as the ORM would (the same database converters, `Model.from_db`).
`new_instance` builds a new, unsaved instance as the constructor would, for rows built by the
thousand.
"""

import functools
from functools import cached_property

from django.db import connection
from django.db.models import Model, signals
from django.db.models.base import ModelState


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


@functools.cache
def _plan(model):
    """What `Model.__init__` puts in a new instance of `model` besides the given values: each
    column's constant default and its callable defaults (called per instance); and for each
    name a value may be given by, the attribute it goes to and, for a related object, the
    field and the related model's attribute that the column takes (None: the constructor)."""
    meta = model._meta
    constant, callables, names = {}, [], {}
    for f in meta.concrete_fields:
        if f.has_default() and callable(f.default):
            callables.append((f.attname, f.default))
        else:
            constant[f.attname] = f.get_default()
        if not f.is_relation:
            names[f.name] = (f.attname, None, None)
            continue
        names[f.attname] = (f.attname, None, None)
        targets = f.foreign_related_fields
        if (f.many_to_one or f.one_to_one) and len(targets) == 1:
            names[f.name] = (f.attname, f, targets[0].attname)
        else:
            names[f.name] = None
    return constant, callables, names


def new_instance(model, **values):
    """`model(**values)` without `Model.__init__`'s loop over every field and keyword: the same
    attributes (defaults included), related objects cached, `_state` new. For the rows a sweep
    builds by the thousand (audit events, escalations). Anything else goes to the constructor:
    a name that is not a concrete field, a related object of the wrong type, a model with an
    `__init__` of its own or whose init signals anyone listens to.

    Relies on `Model._state` (`ModelState`), `Field.set_cached_value` and the attribute names
    (`attname`) under which an instance keeps its column values.
    """
    if (
        model.__init__ is not Model.__init__
        or signals.pre_init.has_listeners(model)
        or signals.post_init.has_listeners(model)
    ):
        return model(**values)
    constant, callables, names = _plan(model)
    columns, related = {}, []
    for name, value in values.items():
        known = names.get(name)
        if known is None:
            return model(**values)
        attname, field, target = known
        if field is None:
            columns[attname] = value
            continue
        if value is not None and not isinstance(value, field.related_model):
            return model(**values)  # the descriptor's own error
        columns[attname] = None if value is None else getattr(value, target)
        related.append((field, value))
    obj = model.__new__(model)
    obj._state = ModelState()
    attributes = obj.__dict__
    attributes.update(constant)
    for attname, default in callables:
        if attname not in columns:
            attributes[attname] = default()
    attributes.update(columns)
    for field, value in related:
        field.set_cached_value(obj, value)
    return obj
