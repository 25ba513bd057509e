"""Recording audit events: the one function every domain's services call.

A domain declares its event model once (a subclass of `core.models.audit.AuditEvent` with a
foreign key to its object and its own `Kind` choices) and records through `record`, inside the
transaction of the change it describes. Inside `core.batch.batched()` the rows of a sweep go
into the database with one INSERT per chunk; otherwise each is inserted at once.
"""

from functools import cache

from django.utils import timezone

from .batch import Sink
from .internals import bulk_insert
from .internals.rows import new_instance
from .models.audit import AppendOnlyError, AuditEvent
from .observability import current_request_id

__all__ = ["AppendOnlyError", "AuditEvent", "record"]

BULK_CHUNK = 500


@cache
def _sink(model: type[AuditEvent]) -> Sink:
    def write(rows):
        if len(rows) == 1:
            rows[0].save()
        else:
            bulk_insert.create_rows(model, rows, chunk=BULK_CHUNK)

    return Sink(f"audit:{model._meta.label}", write)


@cache
def _kinds(model: type[AuditEvent]) -> frozenset[str]:
    """The model's kinds (its `kind` field's choices, fixed at import), read once per model."""
    return frozenset(choice for choice, _ in model._meta.get_field("kind").choices or ())


def record(
    model: type[AuditEvent],
    *,
    kind: str,
    actor=None,
    before: dict | None = None,
    after: dict | None = None,
    metadata: dict | None = None,
    at=None,
    immediate: bool = False,
    **fields,
) -> AuditEvent:
    """Write one `model` event (now, or with the batch) and return it.

    `fields` are the model's own columns (the object it is about, a visibility flag). An
    anonymous or missing actor is stored as no actor (a system change). The request id of the
    request or task that made the change is kept in `metadata`, so an event leads to its logs.
    """
    known = _kinds(model)
    if known and kind not in known:
        raise ValueError(f"{kind!r} is not a kind of {model.__name__}")
    metadata = dict(metadata or {})
    request_id = current_request_id()
    if request_id and request_id != "-":
        metadata.setdefault("request_id", request_id)
    event = new_instance(
        model,
        actor=actor if actor is not None and actor.is_authenticated else None,
        kind=kind,
        before=before or {},
        after=after or {},
        metadata=metadata,
        created_at=at or timezone.now(),
        **fields,
    )
    if immediate:
        event.save()
    else:
        _sink(model).add(event)
    return event
