"""Reads of the analytics: a report over a range, from the rollups (past days) and the live
tables (today), or, on the exact path, straight from the tickets.

`report(user=..., query=...)` is what the API, the desk page and the CSV export share. Each
figure follows `docs/analytics.md`; the rollup path and the exact path agree exactly on counts
and within the histograms' bound on medians and percentiles (tests/analytics).
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Q, Sum
from django.utils import timezone

from incidents.metrics import incident_metrics
from incidents.permissions import can_see_incidents
from knowledge.permissions import can_see_insights
from knowledge.selectors import deflection
from support.models import Category, Team, Ticket, TicketEvent
from support.models.choices import Channel, Priority

from . import facts
from .metrics import (
    ACTIVE,
    HEADLINES,
    Contribution,
    Totals,
    contributions,
    day_bounds,
    day_of,
    figures,
    time_zone,
)
from .models import DailyRollup, DailySlice, TicketFact, Watermark
from .permissions import Scope, scope_for
from .rollups import MEASURE_FIELDS, STREAM

DIMENSIONS = ("team", "agent", "priority", "category", "channel")
GROUPINGS = ("day", "week", "month")
MAX_DAYS = 366
# Item layout: (day, team_id, agent_id, priority, category_id, channel)
DIMENSION_INDEX = {name: index + 1 for index, name in enumerate(DIMENSIONS)}
EXACT_CHUNK = 2000
READ_ATTEMPTS = 3
# More events than this after the job's watermark: the job is not keeping up (or never ran);
# reports then read the rollups alone and say so (`stale`) rather than recompute the world.
PENDING_LIMIT = 20_000


@dataclass
class Query:
    start: dt.date
    end: dt.date
    group: str = "day"
    by: str | None = None
    filters: dict = field(default_factory=dict)  # dimension name -> value
    compare: bool = True

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Query":
        length = dt.timedelta(days=self.days)
        return Query(
            start=self.start - length,
            end=self.start - dt.timedelta(days=1),
            group=self.group,
            by=self.by,
            filters=self.filters,
            compare=False,
        )


def period_of(day: dt.date, group: str) -> dt.date:
    if group == "week":
        return day - dt.timedelta(days=day.weekday())
    if group == "month":
        return day.replace(day=1)
    return day


def periods(start: dt.date, end: dt.date, group: str) -> list[dt.date]:
    found, day = [], start
    while day <= end:
        period = period_of(day, group)
        if not found or found[-1] != period:
            found.append(period)
        day += dt.timedelta(days=1)
    return found


def _admitted(scope: Scope, filters: dict, key: tuple) -> bool:
    if not scope.admits(key[1], key[2]):
        return False
    return all(key[DIMENSION_INDEX[name]] == value for name, value in filters.items())


def _rollup_q(scope: Scope, filters: dict) -> Q:
    match = Q()
    for name, value in filters.items():
        match &= Q(**{_column(name): value})
    if not scope.all:
        match &= Q(team_id__in=scope.team_ids) | Q(agent_id=scope.agent_id)
    return match


def _column(name: str) -> str:
    return name if name in ("priority", "channel") else f"{name}_id"


def _typed(name: str, value: str):
    return value if name in ("priority", "channel") else int(value)


ROLLUP_VALUES = ["day", "team_id", "agent_id", "priority", "category_id", "channel",
                 *MEASURE_FIELDS]  # fmt: skip


def _key(snapshot_dims: tuple, contribution) -> tuple:
    team_id, priority, category_id, channel = snapshot_dims
    return (contribution.day, team_id, contribution.agent_id or 0, priority, category_id, channel)


def _snapshot_dims(snapshot) -> tuple:
    return (
        snapshot.team_id or 0,
        snapshot.priority or "",
        snapshot.category_id or 0,
        snapshot.channel or "",
    )


def _contribution_items(ticket_ids, tz, keep_day):
    for snapshot in facts.snapshots(ticket_ids):
        dims = _snapshot_dims(snapshot)
        for contribution in contributions(snapshot, tz):
            if keep_day(contribution.day):
                yield _key(dims, contribution), contribution


class RollupSource:
    """Past days from the rollups, today (and anything later) from the live tables."""

    exact = False

    def __init__(self, scope: Scope, filters: dict, today: dt.date, tz, by: str | None = None):
        self.scope, self.filters, self.today, self.tz, self.by = scope, filters, today, tz, by
        self._pending = None
        self.stale = False
        # Read before any rollup row: the rows are then at least this recent, and `moved()`
        # tells whether the job committed in between.
        self.mark = self._watermark()
        self.slice = self._slice_plan()

    @staticmethod
    def _watermark():
        return Watermark.objects.filter(name=STREAM).first()

    def moved(self) -> bool:
        now = self._watermark()
        if now is None or self.mark is None:
            return (now is None) != (self.mark is None)
        return (now.last_event_id, now.updated_at) != (
            self.mark.last_event_id,
            self.mark.updated_at,
        )

    def _slice_plan(self) -> tuple[str, str | None] | None:
        """The slice that answers this report (a dimension and maybe one value), if any: the
        whole organisation's figures about one dimension at most. Each slice partitions the
        contributions, so its rows add up to the day's figures."""
        named = set(self.filters) | ({self.by} if self.by else set())
        if not self.scope.all or len(named) > 1:
            return None
        if not named:
            return ("", None)
        name = named.pop()
        value = self.filters.get(name)
        return (name, None if value is None else str(value))

    def _slices(self, **days):
        name, value = self.slice
        rows = DailySlice.objects.filter(dimension=name, **days)
        return rows if value is None else rows.filter(value=value)

    def _slice_key(self, day, value: str) -> tuple:
        key = [day, None, None, None, None, None]
        name = self.slice[0]
        if name:
            key[DIMENSION_INDEX[name]] = _typed(name, value)
        return tuple(key)

    def pending(self) -> list:
        """What changed since the job's last run, read from the live tables: for each ticket
        with an event after the watermark (or in one of its gaps), its stored contributions
        taken back (-1) and its contributions now (+1). So every day, today included, is as
        of this moment; the cost follows the events of the last minute or so."""
        if self._pending is None:
            mark = self.mark
            events = Q(id__gt=mark.last_event_id if mark else 0)
            for low, high, _since in mark.gaps if mark else []:
                events |= Q(id__gte=low, id__lte=high)
            found_ids = list(
                TicketEvent.objects.filter(events)
                .order_by()
                .values_list("ticket_id", flat=True)[: PENDING_LIMIT + 1]
            )
            if len(found_ids) > PENDING_LIMIT:
                # The job is far behind (not run yet, or stopped): the rollups alone, marked.
                self.stale = True
                self._pending = []
                return self._pending
            ids = sorted(set(found_ids))
            found = [(key, c, 1) for key, c in _contribution_items(ids, self.tz, _every_day)]
            for fact in TicketFact.objects.filter(ticket_id__in=ids):
                dims = (fact.team_id, fact.priority, fact.category_id, fact.channel)
                for data in fact.contributions:
                    contribution = Contribution.from_json(data)
                    found.append((_key(dims, contribution), contribution, -1))
            self._pending = [item for item in found if _admitted(self.scope, self.filters, item[0])]
        return self._pending

    def items(self, start: dt.date, end: dt.date):
        """(key, rollup or slice row, 1) and (key, Contribution, ±1) of the days [start, end]."""
        if self.slice is not None:
            rows = (
                self._slices(day__gte=start, day__lte=end)
                .order_by()
                .values("day", "value", *MEASURE_FIELDS)
            )
            for row in rows.iterator(chunk_size=5000):
                yield self._slice_key(row["day"], row["value"]), row, 1
        else:
            rows = (
                DailyRollup.objects.filter(
                    _rollup_q(self.scope, self.filters), day__gte=start, day__lte=end
                )
                .order_by()
                .values(*ROLLUP_VALUES)
            )
            for row in rows.iterator(chunk_size=5000):
                key = (row["day"], row["team_id"], row["agent_id"], row["priority"],
                       row["category_id"], row["channel"])  # fmt: skip
                yield key, row, 1
        for key, contribution, sign in self.pending():
            if start <= key[0] <= end:
                yield key, contribution, sign

    def backlog_before(self, start: dt.date, by: str | None) -> dict:
        """Σ backlog changes of the days before `start`, overall (None) and per group."""
        base = defaultdict(int)
        before = start - dt.timedelta(days=1)
        if self.slice is not None:
            rows = (
                self._slices(day__lte=before)
                .order_by()
                .values("value")
                .annotate(total=Sum("backlog_change"))
            )
            for row in rows:
                base[None] += row["total"] or 0
                if by:
                    base[_typed(by, row["value"])] += row["total"] or 0
        else:
            rows = (
                DailyRollup.objects.filter(_rollup_q(self.scope, self.filters), day__lte=before)
                .order_by()
                .values(*([_column(by)] if by else []))
                .annotate(total=Sum("backlog_change"))
            )
            for row in rows:
                base[None] += row["total"] or 0
                if by:
                    base[row[_column(by)]] += row["total"] or 0
        for key, contribution, sign in self.pending():
            if key[0] < start:
                change = sign * contribution.counts.get("backlog_change", 0)
                base[None] += change
                if by:
                    base[key[DIMENSION_INDEX[by]]] += change
        return base


def _every_day(day) -> bool:
    return True


class ExactSource:
    """Every day straight from the tickets: the reference the rollups are checked against."""

    exact = True

    def __init__(self, scope: Scope, filters: dict, until: dt.date, tz):
        self.scope, self.filters, self.tz = scope, filters, tz
        _, end = day_bounds(until, until, tz)
        ids = list(
            Ticket.objects.filter(created_at__lt=end).order_by("pk").values_list("pk", flat=True)
        )
        self.found = []
        for offset in range(0, len(ids), EXACT_CHUNK):
            for key, contribution in _contribution_items(
                ids[offset : offset + EXACT_CHUNK], tz, lambda day: day <= until
            ):
                if _admitted(scope, filters, key):
                    self.found.append((key, contribution))

    def items(self, start, end):
        for key, contribution in self.found:
            if start <= key[0] <= end:
                yield key, contribution, 1

    def backlog_before(self, start, by):
        base = defaultdict(int)
        for key, contribution in self.found:
            if key[0] < start:
                change = contribution.counts.get("backlog_change", 0)
                base[None] += change
                if by:
                    base[key[DIMENSION_INDEX[by]]] += change
        return base


def add(totals: Totals, payload, sign: int) -> None:
    """Add an item of a source (a rollup row, or a contribution with its sign) to totals."""
    if isinstance(payload, dict):
        totals.add_row(payload)
    else:
        totals.add_contribution(payload, sign)


def _period(source, query: Query) -> dict:
    overall = Totals(exact=source.exact)
    series = {
        period: Totals(exact=source.exact)
        for period in periods(query.start, query.end, query.group)
    }
    groups = defaultdict(lambda: Totals(exact=source.exact))
    for key, payload, sign in source.items(query.start, query.end):
        add(series[period_of(key[0], query.group)], payload, sign)
        if query.by:
            add(groups[key[DIMENSION_INDEX[query.by]]], payload, sign)
    for totals in series.values():
        overall.merge(totals)
    base = source.backlog_before(query.start, query.by)
    level = base[None]
    shown_series = []
    for period, totals in series.items():
        level += totals.counts["backlog_change"]
        shown_series.append({"period": period, "figures": figures(totals, backlog=level)})
    result = {
        "start": query.start,
        "end": query.end,
        "totals": figures(overall, backlog=base[None] + overall.counts["backlog_change"]),
        "series": shown_series,
        "groups": {},
    }
    if query.by:
        for value in set(groups) | {k for k in base if k is not None and base[k]}:
            totals = groups[value]
            result["groups"][value] = figures(
                totals, backlog=base.get(value, 0) + totals.counts["backlog_change"]
            )
    return result


def _labels(by: str, values) -> dict:
    values = [value for value in values if value not in (0, "", None)]
    if by == "team":
        found = dict(Team.objects.filter(pk__in=values).values_list("pk", "name"))
    elif by == "agent":
        found = {
            user.pk: user.display_name
            for user in get_user_model().objects.filter(pk__in=values).only("full_name", "email")
        }
    elif by == "category":
        found = dict(Category.objects.filter(pk__in=values).values_list("pk", "name"))
    elif by == "priority":
        found = dict(Priority.choices)
    else:
        found = dict(Channel.choices)
    labels = {value: found.get(value, str(value)) for value in values}
    labels.update({0: "None", "": "None"})
    return labels


def change(current: dict, previous: dict) -> dict:
    """Current minus previous for each headline figure (None when either is missing)."""
    found = {}
    for name in HEADLINES:
        now, before = current.get(name), previous.get(name)
        found[name] = None if now is None or before is None else round(now - before, 4)
    return found


def report(*, user, query: Query, now=None, exact: bool = False) -> dict:
    """The analytics of `query` as `user` may see them (agents: own and their teams')."""
    scope = scope_for(user)
    now = now or timezone.now()
    tz = time_zone()
    today = day_of(now, tz)
    for _attempt in range(READ_ATTEMPTS):
        if exact:
            source = ExactSource(scope, query.filters, query.end, tz)
        else:
            source = RollupSource(scope, query.filters, today, tz, by=query.by)
        current = _period(source, query)
        previous = _period(source, query.previous()) if query.compare else None
        # The job committed while we read (rollups and pending changes would disagree): again.
        if exact or not source.moved():
            break
    result = {
        "start": query.start,
        "end": query.end,
        "group": query.group,
        "by": query.by,
        "filters": query.filters,
        "time_zone": str(tz),
        "totals": current["totals"],
        "series": current["series"],
        "previous": None,
        "change": None,
        "breakdown": [],
        "stale": False,
    }
    if previous is not None:
        result["previous"] = {
            "start": previous["start"],
            "end": previous["end"],
            "totals": previous["totals"],
        }
        result["change"] = change(current["totals"], previous["totals"])
    result["stale"] = getattr(source, "stale", False)
    if query.by:
        labels = _labels(query.by, current["groups"])
        for value in sorted(current["groups"], key=lambda v: str(labels.get(v, v))):
            row = {
                "key": value,
                "label": labels.get(value, str(value)),
                "figures": current["groups"][value],
            }
            if previous is not None:
                row["previous"] = previous["groups"].get(value)
            result["breakdown"].append(row)
    return result


def incident_figures(*, user, query: Query) -> list[dict]:
    """Incident MTTA and MTTR by severity, for incidents detected in the range (staff who see
    incidents; `incidents.metrics` computes them exactly from the small incident table)."""
    if not can_see_incidents(user):
        return []
    since, until = day_bounds(query.start, query.end)
    found = defaultdict(lambda: {"incidents": 0, "acknowledged": 0, "resolved": 0,
                                 "mtta": 0.0, "mttr": 0.0})  # fmt: skip
    for row in incident_metrics(period="month", since=since, until=until):
        totals = found[row["severity"]]
        for name in ("incidents", "acknowledged", "resolved"):
            totals[name] += row[name]
        totals["mtta"] += (row["mtta_seconds"] or 0) * row["acknowledged"]
        totals["mttr"] += (row["mttr_seconds"] or 0) * row["resolved"]
    return [
        {
            "severity": severity,
            "incidents": totals["incidents"],
            "acknowledged": totals["acknowledged"],
            "resolved": totals["resolved"],
            "mtta_minutes": round(totals["mtta"] / totals["acknowledged"] / 60, 1)
            if totals["acknowledged"]
            else None,
            "mttr_minutes": round(totals["mttr"] / totals["resolved"] / 60, 1)
            if totals["resolved"]
            else None,
        }
        for severity, totals in sorted(found.items())
    ]


def knowledge_figures(*, user, query: Query) -> dict | None:
    """Knowledge-base deflection in the range: suggested articles opened on the new-request
    form, and of those (once their 24-hour window has passed) how many were followed by no
    request. From `knowledge.selectors.deflection`; staff who see the knowledge base's figures."""
    if not can_see_insights(user):
        return None
    since, until = day_bounds(query.start, query.end)
    found = deflection(since=since, until=until)
    opened, deflected = found["opened"] or 0, found["deflected"] or 0
    return {
        "suggestions_opened": opened,
        "deflected": deflected,
        "deflection_rate": round(deflected / opened, 4) if opened else None,
    }


def full_report(*, user, query: Query, now=None) -> dict:
    """The report of the API and the desk page: ticket figures, incident MTTA/MTTR and the
    knowledge base's deflection."""
    result = report(user=user, query=query, now=now)
    result["incidents"] = incident_figures(user=user, query=query)
    result["knowledge"] = knowledge_figures(user=user, query=query)
    return result


# --- the tickets behind a figure ------------------------------------------------------------


def _in(column: str, since, until) -> Q:
    return Q(**{f"{column}__gte": since, f"{column}__lt": until})


DRILLS = {
    "created": "Created",
    "solved": "Solved",
    "first_response": "First answered",
    "reopened": "Reopened",
    "response_breaches": "First response breached",
    "resolution_breaches": "Resolution breached",
    "rated": "Rated",
    "backlog": "Open now",
}


def tickets_behind(*, user, metric: str, query: Query):
    """The tickets a figure counts, as the viewer may see them, newest first (a queryset).

    The same rules as `metrics.contributions`, as conditions on the ticket's own columns:
    its current dimensions, the day of the moment that figure counts on.
    """
    scope = scope_for(user)
    since, until = day_bounds(query.start, query.end)
    unmerged = Q(merged_into__isnull=True)
    conditions = {
        "created": _in("created_at", since, until),
        "solved": unmerged & Q(status__in=["resolved", "closed"], resolved_at__isnull=False)
        & _in("resolved_at", since, until),
        "first_response": unmerged & _in("first_responded_at", since, until),
        "response_breaches": unmerged & Q(response_breached=True)
        & _in("response_breached_at", since, until),
        "resolution_breaches": unmerged & Q(resolution_breached=True)
        & _in("resolution_breached_at", since, until),
        "rated": unmerged & Q(satisfaction_rating__isnull=False) & _in("rated_at", since, until),
        "backlog": Q(status__in=sorted(ACTIVE)),
        "reopened": unmerged & Q(pk__in=TicketEvent.objects.filter(
            _in("created_at", since, until), kind=TicketEvent.Kind.STATUS_CHANGED,
            before__status="resolved").values("ticket_id")),
    }  # fmt: skip
    tickets = Ticket.objects.visible_to(user).filter(conditions[metric])
    if not scope.all:
        tickets = tickets.filter(Q(team_id__in=scope.team_ids) | Q(assigned_to_id=scope.agent_id))
    for name, value in query.filters.items():
        column = {"team": "team_id", "agent": "assigned_to_id", "category": "category_id"}.get(
            name, name
        )
        if value == 0:
            tickets = tickets.filter(**{f"{column}__isnull": True})
        else:
            tickets = tickets.filter(**{column: value})
    return tickets.select_related("team", "assigned_to", "category").order_by("-created_at", "-id")
