"""The registry's shared helpers: `scrub_rows` and `iso`."""

from datetime import UTC, date, datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import privacy
from core.models import OutboxMessage

ANA = privacy.Subject(email="ana@example.com", name="Ana Lopez")


def _message(body, headers=None):
    return OutboxMessage.objects.create(
        key=f"k-{body[:20]}", channel="email", recipient="x@example.com", body=body,
        headers=headers or {},
    )  # fmt: skip


def test_scrub_rows_rewrites_only_the_rows_that_name_the_person(db):
    named = _message("Dear ANA LOPEZ, write to ana@example.com", {"Reply-To": "Ana@Example.com"})
    other = _message("Dear Bob")
    with CaptureQueriesContext(connection) as queries:
        changed = privacy.scrub_rows(OutboxMessage.objects.order_by("pk"), ("body", "headers"), ANA)
    assert changed == [named.pk]
    assert len([q for q in queries if q["sql"].startswith("UPDATE")]) == 1
    named.refresh_from_db()
    assert named.body == "Dear [erased], write to [erased]"
    assert named.headers == {"Reply-To": "[erased]"}
    other.refresh_from_db()
    assert other.body == "Dear Bob"


def test_scrub_rows_takes_each_rows_own_person(db):
    first = _message("from ana@example.com")
    second = _message("from bob@example.com")
    people = {
        first.pk: ANA,
        second.pk: privacy.Subject(email="bob@example.com"),
    }
    changed = privacy.scrub_rows(OutboxMessage.objects.all(), ("body",), lambda row: people[row.pk])
    assert sorted(changed) == [first.pk, second.pk]
    assert set(OutboxMessage.objects.values_list("body", flat=True)) == {"from [erased]"}


def test_iso_writes_times_and_dates_and_keeps_no_value_as_none():
    assert privacy.iso(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02T03:04:00+00:00"
    assert privacy.iso(date(2026, 1, 2)) == "2026-01-02"
    assert privacy.iso(None) is None
