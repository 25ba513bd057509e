"""What the public status page shows, built once per change and cached.

Every change the page shows bumps a version key when it commits (`invalidate`); the page, feed
and JSON are cached under that version, so a change is visible on the next request and nothing
is rebuilt in between, however busy the desk is. Only public incidents and their public updates
are read here: an internal update cannot reach the page, the feed or the JSON.

A rebuild costs the same number of queries whatever the history's length: components, active
incidents (with their public updates and components), maintenance, and the incident and
maintenance windows of the last 90 days for the uptime bars, one query each.
"""

import time as clock
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Prefetch, Q
from django.utils import timezone

from knowledge.models import Article

from .models import (
    ACTIVE_STATUSES,
    STATE_RANK,
    Component,
    ComponentState,
    Incident,
    IncidentArticle,
    IncidentComponent,
    IncidentUpdate,
    Maintenance,
    MaintenanceUpdate,
)

VERSION_KEY = "incidents:statuspage:version"
HISTORY_DAYS = 90
HISTORY_PAGE_SIZE = 25
# Downtime weight of each state for the uptime figure: a major outage counts whole, a partial
# one for 30% of its time (Statuspage's convention); degraded performance and maintenance do
# not count as down.
DOWNTIME_WEIGHT = {ComponentState.MAJOR_OUTAGE: 1.0, ComponentState.PARTIAL_OUTAGE: 0.3}


def version() -> int:
    value = cache.get(VERSION_KEY)
    if value is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        value = cache.get(VERSION_KEY) or 1
    return value


def invalidate() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # no version yet: start one past any page cached under the default
        cache.set(VERSION_KEY, 2, timeout=None)


# This process's copies of what it last read from the shared cache, by key (which names the
# version): a warm request then reads one small key from Redis (the version), not a page of
# 100-odd kB. A copy lives no longer than its shared entry would.
_local: dict[str, tuple[float, object]] = {}
LOCAL_LIMIT = 64


def cached(name: str, build):
    """`build()` (returning `(value, seconds until it changes by itself or None)`) once per
    version of the page, and at most every `INCIDENTS_STATUS_CACHE_SECONDS`."""
    key = f"incidents:statuspage:{version()}:{name}"
    now = clock.time()
    local = _local.get(key)
    if local is not None and local[0] > now:
        return local[1]
    entry = cache.get(key)  # (deadline, value): the deadline bounds this process's copy too
    if entry is None or entry[0] <= now:
        value, expires = build()
        limit = settings.INCIDENTS_STATUS_CACHE_SECONDS
        seconds = limit if expires is None else max(1, min(limit, expires))
        entry = (now + seconds, value)
        cache.set(key, entry, timeout=int(seconds) + 1)
    if len(_local) >= LOCAL_LIMIT:
        _local.clear()
    _local[key] = entry
    return entry[1]


# --- uptime ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime  # exclusive; an ongoing window ends now
    state: str


@dataclass
class Day:
    date: object
    uptime: float | None  # None: the component did not exist yet
    state: str = ComponentState.OPERATIONAL  # the worst state it was in that day
    down_seconds: float = 0.0
    observed_seconds: float = 0.0

    @property
    def uptime_text(self) -> str:
        return percent(self.uptime)


def percent(share: float | None) -> str:
    """99.95% style: two decimals, trailing zeros dropped; empty without data."""
    if share is None:
        return ""
    text = f"{share * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _weighted(windows: list[Window], start: datetime, end: datetime) -> tuple[float, str]:
    """Weighted downtime seconds within [start, end), and the worst state met there; where
    windows overlap, the worse state counts (never both)."""
    clipped = [(max(w.start, start), min(w.end, end), w.state) for w in windows]
    clipped = [c for c in clipped if c[0] < c[1]]
    if not clipped:
        return 0.0, ComponentState.OPERATIONAL
    points = sorted({p for a, b, _ in clipped for p in (a, b)})
    down = 0.0
    for a, b in zip(points, points[1:], strict=False):
        covering = [s for s0, s1, s in clipped if s0 <= a and s1 >= b]
        if covering:
            worst = max(covering, key=STATE_RANK.__getitem__)
            down += DOWNTIME_WEIGHT.get(worst, 0.0) * (b - a).total_seconds()
    worst = max((s for _, _, s in clipped), key=STATE_RANK.__getitem__)
    return down, worst


def uptime_days(windows: list[Window], *, now: datetime, since: datetime, days: int = HISTORY_DAYS):
    """The last `days` UTC days up to now, oldest first, each with its uptime share and worst
    state; days before `since` (the component's creation) have no uptime. Returns
    `(days, uptime over the whole period or None)`."""
    today = now.astimezone(UTC).date()
    result, down_total, observed_total = [], 0.0, 0.0
    for offset in range(days - 1, -1, -1):
        date = today - timedelta(days=offset)
        start = datetime.combine(date, time.min, tzinfo=UTC)
        end = min(start + timedelta(days=1), now)
        start = max(start, since)
        if start >= end:
            result.append(Day(date=date, uptime=None))
            continue
        down, worst = _weighted(windows, start, end)
        observed = (end - start).total_seconds()
        down_total += down
        observed_total += observed
        result.append(
            Day(
                date=date,
                uptime=1 - down / observed,
                state=worst,
                down_seconds=down,
                observed_seconds=observed,
            )
        )
    overall = 1 - down_total / observed_total if observed_total else None
    return result, overall


# --- the page's data ---------------------------------------------------------------------------


@dataclass
class ComponentStatus:
    component: Component
    state: str
    days: list = field(default_factory=list)
    uptime: float | None = None

    @property
    def state_label(self) -> str:
        return ComponentState(self.state).label

    @property
    def uptime_text(self) -> str:
        return percent(self.uptime)


def _public_updates():
    return Prefetch(
        "updates",
        queryset=IncidentUpdate.objects.filter(is_public=True).order_by("-created_at", "-pk"),
        to_attr="public_updates",
    )


def public_incidents():
    return Incident.objects.filter(is_public=True)


def active_incidents():
    return list(
        public_incidents()
        .filter(status__in=ACTIVE_STATUSES)
        .prefetch_related(
            _public_updates(),
            Prefetch("affected", queryset=IncidentComponent.objects.select_related("component")),
        )
        .order_by("-detected_at", "-pk")
    )


def _maintenance(now):
    """Running and upcoming windows (not cancelled), soonest first."""
    return list(
        Maintenance.objects.filter(cancelled_at__isnull=True, ends_at__gt=now)
        .prefetch_related(
            "components",
            Prefetch(
                "updates",
                queryset=MaintenanceUpdate.objects.order_by("-created_at", "-pk"),
                to_attr="public_updates",
            ),
        )
        .order_by("starts_at", "pk")
    )


def _next_boundary(maintenance, now) -> float | None:
    """Seconds until a maintenance window starts or ends (when the page changes by itself)."""
    moments = [m.starts_at for m in maintenance if m.starts_at > now] + [
        m.ends_at for m in maintenance
    ]
    return min((m - now).total_seconds() for m in moments) if moments else None


def _windows(now, since) -> dict[int, list[Window]]:
    """Each component's incident and maintenance windows that overlap [since, now)."""
    by_component: dict[int, list[Window]] = defaultdict(list)
    rows = IncidentComponent.objects.filter(
        Q(incident__resolved_at__isnull=True) | Q(incident__resolved_at__gt=since),
        incident__is_public=True,
        incident__detected_at__lt=now,
    ).values_list("component_id", "state", "incident__detected_at", "incident__resolved_at")
    for component_id, state, start, end in rows:
        by_component[component_id].append(Window(start, end or now, state))
    through = Maintenance.components.through
    maintenance = through.objects.filter(
        maintenance__cancelled_at__isnull=True,
        maintenance__starts_at__lt=now,
        maintenance__ends_at__gt=since,
    ).values_list("component_id", "maintenance__starts_at", "maintenance__ends_at")
    for component_id, start, end in maintenance:
        by_component[component_id].append(
            Window(start, min(end, now), ComponentState.UNDER_MAINTENANCE)
        )
    return by_component


def overall_state(states) -> str:
    return max(states, key=STATE_RANK.__getitem__, default=ComponentState.OPERATIONAL)


OVERALL_TEXT = {
    ComponentState.OPERATIONAL: "All systems operational",
    ComponentState.DEGRADED_PERFORMANCE: "Degraded performance",
    ComponentState.PARTIAL_OUTAGE: "Partial outage",
    ComponentState.MAJOR_OUTAGE: "Major outage",
    ComponentState.UNDER_MAINTENANCE: "Maintenance in progress",
}


def summary(now=None) -> tuple[dict, float | None]:
    """Everything the page and the JSON show, and when it next changes by itself."""
    now = now or timezone.now()
    since = now - timedelta(days=HISTORY_DAYS)
    components = list(Component.objects.order_by("group", "order", "name", "pk"))
    maintenance = _maintenance(now)
    running = [m for m in maintenance if m.starts_at <= now]
    in_maintenance = {c.pk for m in running for c in m.components.all()}
    windows = _windows(now, since)
    statuses = []
    for component in components:
        state = component.state
        if component.pk in in_maintenance and STATE_RANK[state] < STATE_RANK["under_maintenance"]:
            state = ComponentState.UNDER_MAINTENANCE
        days, uptime = uptime_days(windows.get(component.pk, []), now=now,
                                   since=component.created_at)  # fmt: skip
        statuses.append(ComponentStatus(component=component, state=state, days=days, uptime=uptime))
    groups: dict[str, list] = {}
    for status in statuses:
        groups.setdefault(status.component.group, []).append(status)
    overall = overall_state(s.state for s in statuses)
    data = {
        "now": now,
        "overall": overall,
        "overall_text": OVERALL_TEXT[overall],
        "groups": list(groups.items()),
        "components": statuses,
        "incidents": active_incidents(),
        "maintenance_running": running,
        "maintenance_upcoming": [m for m in maintenance if m.starts_at > now],
    }
    return data, _next_boundary(maintenance, now)


def summary_json(data: dict) -> dict:
    """The JSON summary (`/status/summary.json`): public facts only."""

    def iso(value):
        return value.isoformat() if value else None

    return {
        "updated_at": iso(data["now"]),
        "status": {"indicator": data["overall"], "description": data["overall_text"]},
        "components": [
            {
                "id": s.component.pk,
                "name": s.component.name,
                "group": s.component.group,
                "state": s.state,
                "uptime_90d": None if s.uptime is None else round(s.uptime * 100, 3),
            }
            for s in data["components"]
        ],
        "incidents": [
            {
                "number": i.number,
                "title": i.title,
                "status": i.status,
                "impact": i.impact,
                "started_at": iso(i.detected_at),
                "components": [a.component.name for a in i.affected.all()],
                "updates": [
                    {"status": u.status, "body": u.body, "created_at": iso(u.created_at)}
                    for u in i.public_updates
                ],
            }
            for i in data["incidents"]
        ],
        "maintenance": [
            {
                "title": m.title,
                "description": m.description,
                "starts_at": iso(m.starts_at),
                "ends_at": iso(m.ends_at),
                "components": [c.name for c in m.components.all()],
                "updates": [
                    {"body": u.body, "created_at": iso(u.created_at)} for u in m.public_updates
                ],
            }
            for m in data["maintenance_running"] + data["maintenance_upcoming"]
        ],
    }


def history_page(number: int):
    """Past public incidents, newest first, a page at a time (one query for the page, one for
    its public updates)."""
    start = (number - 1) * HISTORY_PAGE_SIZE
    rows = list(
        public_incidents()
        .exclude(status__in=ACTIVE_STATUSES)
        .prefetch_related(_public_updates())
        .order_by("-detected_at", "-pk")[start : start + HISTORY_PAGE_SIZE + 1]
    )
    return rows[:HISTORY_PAGE_SIZE], len(rows) > HISTORY_PAGE_SIZE


def public_incident(number: str) -> Incident | None:
    """A public incident's page: its public updates and the articles anyone may read about it
    (published and not internal; drafts and internal articles never reach the page)."""
    return (
        public_incidents()
        .filter(number=number.upper())
        .prefetch_related(
            _public_updates(),
            Prefetch("affected", queryset=IncidentComponent.objects.select_related("component")),
            Prefetch(
                "article_links",
                queryset=IncidentArticle.objects.filter(article__in=Article.objects.public())
                .select_related("article")
                .order_by("linked_at", "pk"),
                to_attr="public_articles",
            ),
        )
        .first()
    )


def feed_updates(limit: int = 50):
    """The latest public updates of public incidents (the Atom feed)."""
    return list(
        IncidentUpdate.objects.filter(is_public=True, incident__is_public=True)
        .select_related("incident")
        .order_by("-created_at", "-pk")[:limit]
    )
