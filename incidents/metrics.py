"""MTTA and MTTR by severity and period: one grouped query.

MTTA is the mean of acknowledged − detected over the incidents acknowledged; MTTR the mean of
resolved − detected over the incidents resolved (a reopened incident counts from its latest
resolution). An incident belongs to the period (UTC) in which it was detected.
"""

from datetime import UTC

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek

from .models import Incident

PERIODS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}


def _seconds(value) -> float | None:
    return None if value is None else value.total_seconds()


def incident_metrics(*, period: str = "month", since=None, until=None) -> list[dict]:
    truncate = PERIODS[period]
    queryset = Incident.objects.all()
    if since is not None:
        queryset = queryset.filter(detected_at__gte=since)
    if until is not None:
        queryset = queryset.filter(detected_at__lt=until)
    rows = (
        queryset.annotate(period_start=truncate("detected_at", tzinfo=UTC))
        .values("period_start", "severity")
        .annotate(
            incidents=Count("pk"),
            acknowledged=Count("acknowledged_at"),
            resolved=Count("resolved_at"),
            mtta=Avg(
                ExpressionWrapper(
                    F("acknowledged_at") - F("detected_at"), output_field=DurationField()
                )
            ),
            mttr=Avg(
                ExpressionWrapper(F("resolved_at") - F("detected_at"), output_field=DurationField())
            ),
        )  # fmt: skip
        .order_by("period_start", "severity")
    )
    return [
        {
            "period_start": row["period_start"],
            "severity": row["severity"],
            "incidents": row["incidents"],
            "acknowledged": row["acknowledged"],
            "resolved": row["resolved"],
            "mtta_seconds": _seconds(row["mtta"]),
            "mttr_seconds": _seconds(row["mttr"]),
        }
        for row in rows
    ]


def severity_totals(rows: list[dict]) -> dict[str, dict]:
    """The range's figures per severity from `incident_metrics` rows: counts summed, means
    weighted by the incidents each period's mean is over (so they equal one query's mean)."""
    totals: dict[str, dict] = {}
    for row in rows:
        total = totals.setdefault(
            row["severity"],
            {"incidents": 0, "acknowledged": 0, "resolved": 0, "_ack": 0.0, "_res": 0.0},
        )
        total["incidents"] += row["incidents"]
        total["acknowledged"] += row["acknowledged"]
        total["resolved"] += row["resolved"]
        if row["mtta_seconds"] is not None:
            total["_ack"] += row["mtta_seconds"] * row["acknowledged"]
        if row["mttr_seconds"] is not None:
            total["_res"] += row["mttr_seconds"] * row["resolved"]
    for total in totals.values():
        ack, res = total.pop("_ack"), total.pop("_res")
        total["mtta_seconds"] = ack / total["acknowledged"] if total["acknowledged"] else None
        total["mttr_seconds"] = res / total["resolved"] if total["resolved"] else None
    return totals
