"""SLA reports: compliance, response and resolution times, breaches, over a date range."""

import csv
import datetime as dt
import io
import statistics
from collections import defaultdict

from django.utils import timezone

MAX_REPORT_DAYS = 366
BREACH_LIST_LIMIT = 1000
DIMENSIONS = {
    "priority": "priority",
    "category": "category__slug",
    "channel": "channel",
    "tier": "organization__tier",
    "team": "team__slug",
}


def _range(start: dt.date, end: dt.date):
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )


def _summary(rows) -> dict:
    measured = [r for r in rows if r["sla_policy_id"] is not None]
    breached = [r for r in measured if r["response_breached"] or r["resolution_breached"]]
    response = [
        r["first_response_working_minutes"]
        for r in measured
        if r["first_response_working_minutes"] is not None
    ]
    resolution = [
        r["resolution_working_minutes"]
        for r in measured
        if r["resolution_working_minutes"] is not None
    ]

    def mean(values):
        return round(statistics.fmean(values), 1) if values else None

    def median(values):
        return round(statistics.median(values), 1) if values else None

    return {
        "tickets": len(measured),
        "breached": len(breached),
        "compliance_rate": round(1 - len(breached) / len(measured), 4) if measured else None,
        "response_breaches": sum(1 for r in measured if r["response_breached"]),
        "resolution_breaches": sum(1 for r in measured if r["resolution_breached"]),
        "first_response_minutes": {"average": mean(response), "median": median(response)},
        "resolution_minutes": {"average": mean(resolution), "median": median(resolution)},
    }


def sla_report(*, tickets, start: dt.date, end: dt.date, now=None) -> dict:
    """Compliance overall and per dimension for tickets created in [start, end] (viewer's days).

    Times are working minutes of each ticket's SLA calendar, fixed when each clock stopped.
    """
    now = now or timezone.now()
    since, until = _range(start, end)
    fields = [
        "pk",
        "number",
        "subject",
        "sla_policy_id",
        "response_breached",
        "resolution_breached",
        "response_breached_at",
        "resolution_breached_at",
        "first_responded_at",
        "resolved_at",
        "first_response_working_minutes",
        "resolution_working_minutes",
        *DIMENSIONS.values(),
    ]
    rows = list(
        tickets.filter(created_at__gte=since, created_at__lt=until).order_by().values(*fields)
    )
    report = {"start_date": start, "end_date": end, "overall": _summary(rows)}
    for name, column in DIMENSIONS.items():
        groups = defaultdict(list)
        for row in rows:
            groups[row[column] or "none"].append(row)
        report[f"by_{name}"] = {key: _summary(group) for key, group in sorted(groups.items())}
    report["breaches"] = _breaches(rows, now)
    return report


def _breaches(rows, now) -> list[dict]:
    out = []
    for row in rows:
        for clock, breached_at, stopped in (
            ("first_response", row["response_breached_at"], row["first_responded_at"]),
            ("resolution", row["resolution_breached_at"], row["resolved_at"]),
        ):
            if breached_at is None:
                continue
            end = stopped or now
            out.append(
                {
                    "ticket": row["number"],
                    "subject": row["subject"],
                    "clock": clock,
                    "priority": row["priority"],
                    "team": row["team__slug"],
                    "breached_at": breached_at,
                    "breach_minutes": round(max(0, (end - breached_at).total_seconds()) / 60, 1),
                    "ongoing": stopped is None,
                }
            )
    out.sort(key=lambda b: b["breached_at"])
    return out[:BREACH_LIST_LIMIT]


def breaches_csv(report: dict) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "ticket",
            "subject",
            "clock",
            "priority",
            "team",
            "breached_at",
            "breach_minutes",
            "ongoing",
        ]
    )
    for breach in report["breaches"]:
        writer.writerow(
            [
                breach["ticket"],
                breach["subject"],
                breach["clock"],
                breach["priority"],
                breach["team"] or "",
                breach["breached_at"].isoformat(),
                breach["breach_minutes"],
                breach["ongoing"],
            ]
        )
    writer.writerow([])
    writer.writerow(
        [
            "dimension",
            "value",
            "tickets",
            "breached",
            "compliance_rate",
            "avg_first_response_minutes",
            "median_first_response_minutes",
            "avg_resolution_minutes",
            "median_resolution_minutes",
        ]
    )
    sections = [("overall", {"all": report["overall"]})] + [
        (name, report[f"by_{name}"]) for name in DIMENSIONS
    ]
    for name, groups in sections:
        for value, summary in groups.items():
            writer.writerow(
                [
                    name,
                    value,
                    summary["tickets"],
                    summary["breached"],
                    summary["compliance_rate"],
                    summary["first_response_minutes"]["average"],
                    summary["first_response_minutes"]["median"],
                    summary["resolution_minutes"]["average"],
                    summary["resolution_minutes"]["median"],
                ]
            )
    return buffer.getvalue()
