"""The trend charts' data: what Chart.js (vendored, `static/vendor/chartjs/`) draws, and the
ticket list behind each bar.

The page embeds this as JSON (`json_script`) and `static/analytics/charts.js` draws it; the
same figures are in a table beside each chart, for screen readers and pages without script.
"""

import calendar
import datetime as dt


def period_end(period: dt.date, group: str) -> dt.date:
    if group == "week":
        return period + dt.timedelta(days=6)
    if group == "month":
        return period.replace(day=calendar.monthrange(period.year, period.month)[1])
    return period


def period_label(period: dt.date, group: str) -> str:
    if group == "month":
        return period.strftime("%b %Y")
    label = f"{period.day} {period.strftime('%b')}"
    return f"week of {label}" if group == "week" else label


def trends(series: list[dict], *, query, drill) -> dict:
    """Per period: created, solved, backlog and median first response, with the address of the
    tickets behind each created and solved bar (`drill(metric, start, end)`)."""
    rows = []
    for row in series:
        period, figures = row["period"], row["figures"]
        start = max(period, query.start)
        end = min(period_end(period, query.group), query.end)
        rows.append(
            {
                "label": period_label(period, query.group),
                "start": start.isoformat(),
                "end": end.isoformat(),
                "created": figures["created"] or 0,
                "solved": figures["solved"] or 0,
                "backlog": figures["backlog"],
                "first_response_median": figures["first_response_median"],
                "created_url": drill("created", start, end),
                "solved_url": drill("solved", start, end),
            }
        )
    return {"group": query.group, "rows": rows}
