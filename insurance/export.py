"""The audit trail as CSV, streamed from the database in constant memory.

Rows come from a server-side cursor (`iterator(chunk_size=...)`) as plain tuples (`values_list`,
no model instances), each written to a one-line buffer and handed to the response at once, so
100,000 activities cost what a thousand do. Every text cell goes through `core.spreadsheet`
(no formula runs in a spreadsheet). Times are UTC, ISO 8601.
"""

import datetime as dt
import io
import json
from collections.abc import Iterator

from django.db.models import F, Value
from django.db.models.functions import Coalesce

from core.spreadsheet import SafeWriter

from .models import DocumentActivity

HEADER = (
    "activity_id",
    "created_at",
    "document_id",
    "policy_number",
    "owner",
    "kind",
    "actor",
    "reason",
    "before",
    "after",
)
CHUNK_ROWS = 2000


def activities_between(since: dt.datetime | None = None, until: dt.datetime | None = None):
    rows = DocumentActivity.objects.all()
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    return rows


def _rows(queryset):
    return (
        queryset.order_by("created_at", "pk")
        .annotate(actor_email=Coalesce(F("actor__email"), Value("system")))
        .values_list(
            "pk",
            "created_at",
            "document_id",
            "document__policy_number",
            "document__owner__email",
            "kind",
            "actor_email",
            "reason",
            "before",
            "after",
        )
    )


def _cell(value):
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False) if value else ""
    return value


def csv_lines(queryset) -> Iterator[str]:
    """The CSV of `queryset` (activities), line by line: the header, then oldest first."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer)

    def line(row) -> str:
        writer.writerow([_cell(value) for value in row])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(HEADER)
    for row in _rows(queryset).iterator(chunk_size=CHUNK_ROWS):
        yield line(row)
