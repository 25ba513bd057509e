"""The audit export: its rows are the activities, cells are safe, and memory stays flat."""

import csv
import datetime as dt
import io
import tracemalloc

import pytest
from rest_framework.test import APIClient

from insurance import services
from insurance.export import HEADER, activities_between, csv_lines
from insurance.models import ActivityKind, DocumentActivity

from .factories import in_review, submit

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def read(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv"
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def reviewer_client(reviewer):
    client = APIClient()
    client.force_authenticate(reviewer)
    return client


def test_the_range_export_has_one_row_per_activity_with_who_what_when_and_why(
    owner, other_owner, reviewer, clock
):
    early = submit(owner)  # 2 March
    clock.set(dt.datetime(2026, 3, 5, 10, 0, tzinfo=UTC))
    document = in_review(other_owner, reviewer)
    services.reject(document=document, by=reviewer, reason='=HYPERLINK("http://x")')
    clock.set(dt.datetime(2026, 3, 9, 10, 0, tzinfo=UTC))
    services.update(document=early, by=owner, insurer="Acme Re")

    rows = read(
        reviewer_client(reviewer).get(
            "/api/v1/insurance/documents/export/", {"since": "2026-03-03", "until": "2026-03-08"}
        )
    )

    assert tuple(rows[0]) == HEADER
    expected = DocumentActivity.objects.filter(
        created_at__gte=dt.datetime(2026, 3, 3, tzinfo=UTC),
        created_at__lt=dt.datetime(2026, 3, 9, tzinfo=UTC),
    ).order_by("created_at", "pk")
    assert [row[0] for row in rows[1:]] == [str(a.pk) for a in expected]
    assert [(row[2], row[5], row[6]) for row in rows[1:]] == [
        (str(document.pk), "submitted", other_owner.email),
        (str(document.pk), "review_started", reviewer.email),
        (str(document.pk), "rejected", reviewer.email),
    ]
    rejected = rows[-1]
    assert rejected[1] == "2026-03-05T10:00:00+00:00"
    assert rejected[7] == '\'=HYPERLINK("http://x")'  # shown as typed, never evaluated
    assert rejected[8] == '{"status": "under_review"}'
    assert rejected[4] == other_owner.email


def test_one_document_s_timeline_as_csv(owner, reviewer):
    document = in_review(owner, reviewer)
    submit(owner)  # another document's activity stays out

    rows = read(reviewer_client(reviewer).get(f"/api/v1/insurance/documents/{document.pk}/export/"))

    assert [row[5] for row in rows[1:]] == ["submitted", "review_started"]
    assert {row[2] for row in rows[1:]} == {str(document.pk)}


def test_a_range_that_ends_before_it_starts_is_refused(reviewer):
    response = reviewer_client(reviewer).get(
        "/api/v1/insurance/documents/export/", {"since": "2026-03-09", "until": "2026-03-01"}
    )
    assert response.status_code == 400


def _peak_while_streaming(queryset) -> tuple[int, int]:
    tracemalloc.start()
    try:
        lines = sum(1 for _ in csv_lines(queryset))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return lines, peak


def test_memory_stays_flat_on_100000_activities(owner):
    document = submit(owner)
    base = dt.datetime(2026, 1, 1, tzinfo=UTC)
    DocumentActivity.objects.bulk_create(
        (
            DocumentActivity(
                document=document,
                kind=ActivityKind.UPDATED,
                actor=owner,
                reason=f"Change {i}",
                before={"insurer": "A"},
                after={"insurer": "B"},
                created_at=base + dt.timedelta(seconds=i),
            )
            for i in range(100_000)
        ),
        batch_size=5000,
    )
    small = activities_between(base, base + dt.timedelta(seconds=5_000))

    small_lines, small_peak = _peak_while_streaming(small)
    everything = activities_between(base, base + dt.timedelta(seconds=100_000))
    all_lines, all_peak = _peak_while_streaming(everything)

    assert (small_lines, all_lines) == (5_001, 100_001)  # with the header
    # Twenty times the rows, about the same memory: a chunk of rows at a time, never all.
    assert all_peak < small_peak * 1.5, (small_peak, all_peak)
    assert all_peak < 5 * 1024 * 1024, all_peak
