"""The desk's analytics pages: the dashboard and the tickets behind a figure.

Both read the same query as the API (`AnalyticsQuerySerializer`), from the URL, so a view can
be shared by its address. Thin: the figures come from `selectors`.
"""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from core.paging import page_of
from core.replica import reading_replica
from support.models import Category, Team
from support.models.choices import Channel, Priority
from support.permissions import active_staff

from . import charts, selectors
from .api.serializers import AnalyticsQuerySerializer
from .metrics import TIMES
from .permissions import can_see_all_analytics, can_see_analytics

PAGE_SIZE = 50
HEADLINES = [
    # (figure, label, kind, the tickets behind it, whether up is good)
    ("created", "Created", "count", "created", None),
    ("solved", "Solved", "count", "solved", True),
    ("backlog", "Backlog at the end", "count", "backlog", False),
    ("first_response_median", "First response, median", "minutes", "first_response", False),
    ("resolution_median", "Resolution, median", "minutes", "solved", False),
    ("response_compliance", "First response on time", "share", "first_response", True),
    ("resolution_compliance", "Resolution on time", "share", "solved", True),
    ("reopen_rate", "Reopened", "share", "reopened", False),
    ("fcr_rate", "Solved at first contact", "share", "solved", True),
    ("csat", "Satisfied (4–5)", "share", "rated", True),
    ("nps", "NPS", "score", "rated", True),
]
COLUMNS = [
    # (key, label, kind, getter)
    ("created", "Created", "count", lambda f: f["created"]),
    ("solved", "Solved", "count", lambda f: f["solved"]),
    ("backlog", "Backlog", "count", lambda f: f["backlog"]),
    ("replies", "Replies", "count", lambda f: f["replies"]),
    ("frt", "First response (median)", "minutes", lambda f: f["first_response_median"]),
    ("frt_p90", "First response (p90)", "minutes",
     lambda f: f["times"]["first_response_calendar"]["p90"]),
    ("resolution", "Resolution (median)", "minutes", lambda f: f["resolution_median"]),
    ("resolution_working", "Resolution, working (median)", "minutes",
     lambda f: f["times"]["resolution_working"]["median"]),
    ("response_compliance", "On time (first response)", "share",
     lambda f: f["response_compliance"]),
    ("resolution_compliance", "On time (resolution)", "share",
     lambda f: f["resolution_compliance"]),
    ("reopen_rate", "Reopened", "share", lambda f: f["reopen_rate"]),
    ("fcr_rate", "First contact", "share", lambda f: f["fcr_rate"]),
    ("csat", "CSAT", "share", lambda f: f["csat"]),
    ("escalations", "Escalations", "count", lambda f: f["escalations"]),
]  # fmt: skip
# The tickets behind each column of the breakdown (replies and escalations have no list).
COLUMN_DRILLS = {
    "created": "created", "solved": "solved", "backlog": "backlog", "frt": "first_response",
    "frt_p90": "first_response", "resolution": "solved", "resolution_working": "solved",
    "response_compliance": "first_response", "resolution_compliance": "solved",
    "reopen_rate": "reopened", "fcr_rate": "solved", "csat": "rated",
}  # fmt: skip
TIME_LABELS = {
    "first_response_calendar": "First response",
    "first_response_working": "First response, working",
    "resolution_calendar": "Resolution",
    "resolution_working": "Resolution, working",
    "breach_duration": "Breach duration",
}


def _refused(request):
    if not can_see_analytics(request.user):
        # As every desk page answers someone who is not support staff.
        return render(request, "desk/not_staff.html", status=403)
    return None


def _query(request):
    params = AnalyticsQuerySerializer(data=request.GET)
    if params.is_valid():
        return params, params.query(), {}
    errors = {name: " ".join(map(str, found)) for name, found in params.errors.items()}
    fallback = AnalyticsQuerySerializer(data={})
    fallback.is_valid(raise_exception=True)
    return fallback, fallback.query(), errors


def _params(query, **changes) -> dict:
    values = {
        "start": query.start.isoformat(),
        "end": query.end.isoformat(),
        "group": query.group,
        "by": query.by or "",
        **query.filters,
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value not in ("", None)}


def _drill_url(query, metric: str, **filters) -> str:
    params = _params(query, **filters)
    params.pop("group", None)
    params.pop("by", None)
    return f"{reverse('desk-analytics-tickets')}?{urlencode({**params, 'metric': metric})}"


def _direction(change, up_is_good):
    if change is None or change == 0 or up_is_good is None:
        return ""
    return "better" if (change > 0) == up_is_good else "worse"


def _choices(user):
    agents = active_staff().order_by("full_name", "email")
    if not can_see_all_analytics(user):
        agents = agents.filter(pk=user.pk) | agents.filter(
            support_teams__in=user.support_teams.all()
        )
    return {
        "teams": Team.objects.order_by("name").values_list("pk", "name"),
        "agents": [(a.pk, a.display_name) for a in agents.distinct()],
        "categories": Category.objects.order_by("name").values_list("pk", "name"),
        "priorities": Priority.choices,
        "channels": Channel.choices,
    }


@login_required
def dashboard(request):
    if refused := _refused(request):
        return refused
    params, query, errors = _query(request)
    with reading_replica():
        report = selectors.full_report(user=request.user, query=query)
    headlines = []
    for name, label, kind, drill, up_is_good in HEADLINES:
        change = (report["change"] or {}).get(name)
        previous = report["previous"]["totals"][name] if report["previous"] else None
        headlines.append(
            {
                "name": name,
                "label": label,
                "kind": kind,
                "value": report["totals"][name],
                "previous": previous,
                "change": change,
                "direction": _direction(change, up_is_good),
                "url": _drill_url(query, drill),
            }
        )
    sort = request.GET.get("sort", "")
    descending = request.GET.get("dir", "desc") != "asc"
    getters = {key: getter for key, _, _, getter in COLUMNS}
    rows = []
    for row in report["breakdown"]:
        drills = {
            metric: _drill_url(query, metric, **{query.by: row["key"]})
            for metric in set(COLUMN_DRILLS.values())
        }
        figures = row["figures"]
        rows.append(
            {
                "label": row["label"],
                "key": row["key"],
                "cells": [
                    (kind, getter(figures), drills.get(COLUMN_DRILLS.get(key)))
                    for key, _, kind, getter in COLUMNS
                ],
                "sort_value": getters[sort](figures) if sort in getters else None,
            }
        )
    if sort in getters:
        present = [r for r in rows if r["sort_value"] is not None]
        absent = [r for r in rows if r["sort_value"] is None]
        rows = sorted(present, key=lambda r: r["sort_value"], reverse=descending) + absent
    here = _params(query)
    sort_links = {
        key: "?"
        + urlencode({**here, "sort": key, "dir": "asc" if sort == key and descending else "desc"})
        for key, _, _, _ in COLUMNS
    }
    context = {
        "report": report,
        "query": query,
        "errors": errors,
        "headlines": headlines,
        "columns": [(key, label, sort_links[key]) for key, label, _, _ in COLUMNS],
        "rows": rows,
        "sort": sort,
        "descending": descending,
        "trends": charts.trends(
            report["series"],
            query=query,
            drill=lambda metric, start, end: _drill_url(
                query, metric, start=start.isoformat(), end=end.isoformat()
            ),
        ),
        "choices": _choices(request.user),
        "groupings": selectors.GROUPINGS,
        "dimensions": selectors.DIMENSIONS,
        "csv_url": f"{reverse('analytics-report')}?{urlencode({**here, 'export': 'csv'})}",
        "times": [(TIME_LABELS[name], report["totals"]["times"][name]) for name in TIMES],
        "filters": query.filters,
        "drills": {metric: _drill_url(query, metric) for metric in selectors.DRILLS},
    }
    return render(request, "analytics/dashboard.html", context)


@login_required
def tickets(request):
    if refused := _refused(request):
        return refused
    metric = request.GET.get("metric", "created")
    if metric not in selectors.DRILLS:
        raise Http404("No such figure.")
    _, query, errors = _query(request)
    found = selectors.tickets_behind(user=request.user, metric=metric, query=query)
    with reading_replica():
        page = page_of(found, request.GET.get("page"), PAGE_SIZE)
    here = {**_params(query), "metric": metric}
    here.pop("group", None)
    here.pop("by", None)
    return render(
        request,
        "analytics/tickets.html",
        {
            "page": page,
            "metric": metric,
            "label": selectors.DRILLS[metric],
            "query": query,
            "errors": errors,
            "back": f"{reverse('desk-analytics')}?{urlencode(_params(query))}",
            "next_url": f"?{urlencode({**here, 'page': page.number + 1})}" if page.has_next else "",
            "previous_url": f"?{urlencode({**here, 'page': page.number - 1})}"
            if page.number > 1
            else "",
        },
    )
