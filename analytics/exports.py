"""The report as CSV, one line at a time (a streamed response never holds the whole file)."""

import io

from core.spreadsheet import SafeWriter

from .metrics import TIMES

FIGURES = ["created", "solved", "backlog", "replies", "reopens", "reopen_rate", "fcr",
           "fcr_rate", "response_measured", "response_compliance", "resolution_measured",
           "resolution_compliance", "response_breaches", "resolution_breaches",
           "csat_responses", "csat", "nps_responses", "nps", "escalations"]  # fmt: skip
TIME_COLUMNS = [f"{name}_{stat}" for name in TIMES for stat in ("count", "median", "p90", "mean")]


def _line(cells) -> str:
    buffer = io.StringIO()
    SafeWriter(buffer).writerow(cells)
    return buffer.getvalue()


def _cells(figures: dict) -> list:
    cells = [figures[name] for name in FIGURES]
    for name in TIMES:
        stats = figures["times"][name]
        cells += [stats["count"], stats["median"], stats["p90"], stats["mean"]]
    return cells


def csv_lines(report: dict):
    """Rows of the breakdown when the report has one, else of the series; then the totals."""
    if report["by"]:
        yield _line([report["by"], "label", *FIGURES, *TIME_COLUMNS])
        for row in report["breakdown"]:
            yield _line([row["key"], row["label"], *_cells(row["figures"])])
    else:
        yield _line([report["group"], "label", *FIGURES, *TIME_COLUMNS])
        for row in report["series"]:
            yield _line([row["period"].isoformat(), "", *_cells(row["figures"])])
    yield _line(["total", f"{report['start']}..{report['end']}", *_cells(report["totals"])])
