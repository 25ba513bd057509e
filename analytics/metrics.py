"""The metrics, defined once (`docs/analytics.md` states each rule in words).

Pure functions, no queries: `contributions(snapshot)` turns one ticket (its row, its status
changes, public agent replies and escalations) into what it adds to each day; the exact path
(`selectors`) and the rollups (`rollups`) both add these up, the exact path keeping every time
as a sample, the rollups keeping counts, sums and histogram buckets. `figures()` turns either
kind of total into the numbers people read.
"""

import datetime as dt
import math
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings

ACTIVE = frozenset(
    {"open", "assigned", "in_progress", "waiting_on_customer", "waiting_on_internal"}
)
SOLVED = frozenset({"resolved", "closed"})

# Counted measures: each is an integer a ticket adds to a day (and a rollup row column).
COUNTS = (
    "created",
    "solved",
    "backlog_change",
    "reopens",
    "solved_reopened",
    "fcr",
    "replies",
    "response_measured",
    "response_met",
    "resolution_measured",
    "resolution_met",
    "response_breaches",
    "resolution_breaches",
    "csat_responses",
    "csat_positive",
    "nps_responses",
    "nps_promoters",
    "nps_detractors",
    "escalations",
)
# Timed measures, in minutes: each sample adds to a count, a sum and a histogram bucket.
TIMES = (
    "first_response_calendar",
    "first_response_working",
    "resolution_calendar",
    "resolution_working",
    "breach_duration",
)


def time_zone() -> zoneinfo.ZoneInfo:
    """The organisation's time zone: days of every metric are days there."""
    return zoneinfo.ZoneInfo(settings.ANALYTICS_TIME_ZONE)


def day_of(moment: dt.datetime, tz=None) -> dt.date:
    return moment.astimezone(tz or time_zone()).date()


def day_bounds(start: dt.date, end: dt.date, tz=None) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, end+1 00:00) in the organisation's zone, as aware datetimes."""
    tz = tz or time_zone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )


# --- histograms -----------------------------------------------------------------------------
# Below an hour one bucket per minute; from an hour up, buckets 2 % wide (each bound 1.02 times
# the last). A percentile read from the buckets lies in the same bucket as the exact one, so it
# is off by at most one minute below an hour and 2 % above (docs/analytics.md).
LINEAR_MINUTES = 60
GROWTH = 1.02


def bucket_of(minutes: float) -> int:
    minutes = max(0.0, minutes)
    if minutes < LINEAR_MINUTES:
        return int(minutes)
    return LINEAR_MINUTES + int(math.log(minutes / LINEAR_MINUTES) / math.log(GROWTH))


def bucket_bounds(bucket: int) -> tuple[float, float]:
    if bucket < LINEAR_MINUTES:
        return float(bucket), float(bucket + 1)
    low = LINEAR_MINUTES * GROWTH ** (bucket - LINEAR_MINUTES)
    return low, low * GROWTH


def bucket_value(bucket: int) -> float:
    """The value a bucket stands for: its middle (geometric middle above an hour)."""
    low, high = bucket_bounds(bucket)
    return (low + high) / 2 if bucket < LINEAR_MINUTES else math.sqrt(low * high)


def nearest_rank(count: int, fraction: float) -> int:
    """The 1-based rank of the `fraction` percentile (nearest-rank definition)."""
    return max(1, math.ceil(fraction * count))


# --- what one ticket adds -------------------------------------------------------------------


@dataclass
class Snapshot:
    """Everything the metrics read about one ticket (loaded in bulk by `facts.snapshots`)."""

    ticket_id: int
    created_at: dt.datetime
    status: str
    team_id: int | None
    assigned_to_id: int | None
    priority: str
    category_id: int | None
    channel: str
    merged: bool
    resolved_at: dt.datetime | None
    first_responded_at: dt.datetime | None
    first_response_working_minutes: float | None
    resolution_working_minutes: float | None
    response_target_minutes: int | None
    resolution_target_minutes: int | None
    response_breached: bool
    resolution_breached: bool
    response_breached_at: dt.datetime | None
    resolution_breached_at: dt.datetime | None
    satisfaction_rating: int | None
    nps_score: int | None
    rated_at: dt.datetime | None
    # (at, before status, after status), oldest first
    status_changes: list = field(default_factory=list)
    # (at, author id) of public agent replies, oldest first
    replies: list = field(default_factory=list)
    # (at, level) of escalations
    escalations: list = field(default_factory=list)


@dataclass
class Contribution:
    """What a ticket adds to one day for one agent (the ticket's own dimensions aside)."""

    day: dt.date
    agent_id: int | None
    counts: dict = field(default_factory=dict)
    samples: dict = field(default_factory=dict)  # time name -> [minutes, ...]
    levels: dict = field(default_factory=dict)  # escalation level (str) -> count

    def as_json(self) -> dict:
        return {
            "day": self.day.isoformat(),
            "agent": self.agent_id,
            "counts": self.counts,
            "samples": self.samples,
            "levels": self.levels,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Contribution":
        return cls(
            day=dt.date.fromisoformat(data["day"]),
            agent_id=data["agent"],
            counts=data["counts"],
            samples=data["samples"],
            levels=data["levels"],
        )


def _minutes(later: dt.datetime, earlier: dt.datetime) -> float:
    return max(0.0, (later - earlier).total_seconds() / 60)


def contributions(snapshot: Snapshot, tz=None) -> list[Contribution]:
    """What one ticket adds to each day, by the rules of docs/analytics.md."""
    tz = tz or time_zone()
    found: dict[tuple, Contribution] = {}
    s = snapshot

    def at(moment: dt.datetime, agent_id=s.assigned_to_id) -> Contribution:
        key = (day_of(moment, tz), agent_id)
        if key not in found:
            found[key] = Contribution(day=key[0], agent_id=agent_id)
        return found[key]

    def add(moment, name, amount=1, agent_id=s.assigned_to_id):
        counts = at(moment, agent_id).counts
        counts[name] = counts.get(name, 0) + amount

    def sample(moment, name, minutes):
        at(moment).samples.setdefault(name, []).append(round(minutes, 4))

    # Created and the backlog: active from creation, in and out with each status change.
    add(s.created_at, "created")
    add(s.created_at, "backlog_change")
    reopens = 0
    for moment, before, after in s.status_changes:
        if before in ACTIVE and after not in ACTIVE:
            add(moment, "backlog_change", -1)
        elif before not in ACTIVE and after in ACTIVE:
            add(moment, "backlog_change", 1)
        if before == "resolved" and after in ACTIVE and not s.merged:
            reopens += 1
            add(moment, "reopens")

    if s.merged:
        # A merged ticket's conversation goes on in the ticket it was merged into.
        return _nonzero(found)

    for moment, author_id in s.replies:
        add(moment, "replies", agent_id=author_id)

    if s.first_responded_at:
        moment = s.first_responded_at
        sample(moment, "first_response_calendar", _minutes(moment, s.created_at))
        if s.first_response_working_minutes is not None:
            sample(moment, "first_response_working", s.first_response_working_minutes)
        if s.response_target_minutes is not None:
            add(moment, "response_measured")
            if not s.response_breached:
                add(moment, "response_met")
            elif s.response_breached_at:
                sample(moment, "breach_duration", _minutes(moment, s.response_breached_at))
    if s.response_breached and s.response_breached_at:
        add(s.response_breached_at, "response_breaches")
    if s.resolution_breached and s.resolution_breached_at:
        add(s.resolution_breached_at, "resolution_breaches")

    if s.status in SOLVED and s.resolved_at:
        moment = s.resolved_at
        add(moment, "solved")
        if reopens:
            add(moment, "solved_reopened")
        elif len(s.replies) == 1:
            add(moment, "fcr")
        sample(moment, "resolution_calendar", _minutes(moment, s.created_at))
        if s.resolution_working_minutes is not None:
            sample(moment, "resolution_working", s.resolution_working_minutes)
        if s.resolution_target_minutes is not None:
            add(moment, "resolution_measured")
            if not s.resolution_breached:
                add(moment, "resolution_met")
            elif s.resolution_breached_at:
                sample(moment, "breach_duration", _minutes(moment, s.resolution_breached_at))

    if s.rated_at and s.satisfaction_rating is not None:
        add(s.rated_at, "csat_responses")
        if s.satisfaction_rating >= 4:
            add(s.rated_at, "csat_positive")
    if s.rated_at and s.nps_score is not None:
        add(s.rated_at, "nps_responses")
        if s.nps_score >= 9:
            add(s.rated_at, "nps_promoters")
        elif s.nps_score <= 6:
            add(s.rated_at, "nps_detractors")

    for moment, level in s.escalations:
        add(moment, "escalations")
        levels = at(moment).levels
        levels[str(level)] = levels.get(str(level), 0) + 1
    return _nonzero(found)


def _nonzero(found: dict) -> list[Contribution]:
    kept = []
    for contribution in found.values():
        contribution.counts = {k: v for k, v in contribution.counts.items() if v}
        if contribution.counts or contribution.samples or contribution.levels:
            kept.append(contribution)
    return sorted(kept, key=lambda c: (c.day, c.agent_id or 0))


# --- totals and the figures read from them --------------------------------------------------


class Totals:
    """Counts and times added up over any set of contributions or rollup rows.

    Times are kept as histogram buckets, and, on the exact path, also as every sample: with
    samples the percentiles are exact, without them they are read from the buckets.
    """

    def __init__(self, exact: bool = False):
        self.exact = exact
        self.counts = defaultdict(int)
        self.n = defaultdict(int)
        self.sums = defaultdict(float)
        self.buckets = defaultdict(lambda: defaultdict(int))
        # Rollup rows' buckets as they come from JSON (string keys), folded into `buckets`
        # once, when read: converting every key of every row was most of a report's time.
        self._row_buckets = defaultdict(lambda: defaultdict(int))
        self.samples = defaultdict(list)
        self.levels = defaultdict(int)

    def add_contribution(self, contribution: Contribution, sign: int = 1) -> None:
        """Add (or, with sign -1, take back) one contribution; only the rollup path takes
        back, so exact samples are only ever added."""
        for name, value in contribution.counts.items():
            self.counts[name] += sign * value
        for name, values in contribution.samples.items():
            for value in values:
                self.n[name] += sign
                self.sums[name] += sign * value
                self.buckets[name][bucket_of(value)] += sign
                if self.exact:
                    self.samples[name].append(value)
        for level, value in contribution.levels.items():
            self.levels[level] += sign * value

    def add_row(self, row: dict) -> None:
        """A rollup row (or a sum of them): counts, `<time>_n`, `<time>_sum`, histograms."""
        for name in COUNTS:
            self.counts[name] += row.get(name) or 0
        for name in TIMES:
            self.n[name] += row.get(f"{name}_n") or 0
            self.sums[name] += row.get(f"{name}_sum") or 0.0
        for name, buckets in (row.get("histograms") or {}).items():
            if name == "levels":
                for level, value in buckets.items():
                    self.levels[level] += value
                continue
            mine = self._row_buckets[name]
            for bucket, value in buckets.items():
                mine[bucket] += value

    def _fold(self) -> None:
        for name, buckets in self._row_buckets.items():
            mine = self.buckets[name]
            for bucket, value in buckets.items():
                mine[int(bucket)] += value
        self._row_buckets.clear()

    def merge(self, other: "Totals") -> None:
        """Add another set of totals (cheaper than adding its rows again)."""
        other._fold()
        for name, value in other.counts.items():
            self.counts[name] += value
        for name, value in other.n.items():
            self.n[name] += value
        for name, value in other.sums.items():
            self.sums[name] += value
        for name, buckets in other.buckets.items():
            mine = self.buckets[name]
            for bucket, value in buckets.items():
                mine[bucket] += value
        for name, values in other.samples.items():
            self.samples[name].extend(values)
        for level, value in other.levels.items():
            self.levels[level] += value

    def percentile(self, name: str, fraction: float) -> float | None:
        self._fold()
        count = self.n[name]
        if not count:
            return None
        rank = nearest_rank(count, fraction)
        if self.exact:
            return sorted(self.samples[name])[rank - 1]
        seen = 0
        for bucket in sorted(b for b, n in self.buckets[name].items() if n):
            seen += self.buckets[name][bucket]
            if seen >= rank:
                return bucket_value(bucket)
        return None  # pragma: no cover (counts and buckets always agree)

    def mean(self, name: str) -> float | None:
        return self.sums[name] / self.n[name] if self.n[name] else None


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value):
    return None if value is None else round(value, 1)


HEADLINES = (
    "created",
    "solved",
    "backlog",
    "first_response_median",
    "resolution_median",
    "response_compliance",
    "resolution_compliance",
    "reopen_rate",
    "fcr_rate",
    "csat",
    "nps",
)


def figures(totals: Totals, backlog: int | None = None) -> dict:
    """The numbers people read, from totals (`backlog` is a level, given separately)."""
    c = totals.counts
    times = {}
    for name in TIMES:
        times[name] = {
            "count": totals.n[name],
            "median": _round(totals.percentile(name, 0.5)),
            "p90": _round(totals.percentile(name, 0.9)),
            "mean": _round(totals.mean(name)),
        }
    nps = None
    if c["nps_responses"]:
        nps = round(100 * (c["nps_promoters"] - c["nps_detractors"]) / c["nps_responses"], 1)
    return {
        "created": c["created"],
        "solved": c["solved"],
        "backlog": backlog,
        "replies": c["replies"],
        "reopens": c["reopens"],
        "reopen_rate": _ratio(c["solved_reopened"], c["solved"]),
        "fcr": c["fcr"],
        "fcr_rate": _ratio(c["fcr"], c["solved"]),
        "first_response_median": times["first_response_calendar"]["median"],
        "resolution_median": times["resolution_calendar"]["median"],
        "times": times,
        "response_measured": c["response_measured"],
        "response_compliance": _ratio(c["response_met"], c["response_measured"]),
        "resolution_measured": c["resolution_measured"],
        "resolution_compliance": _ratio(c["resolution_met"], c["resolution_measured"]),
        "response_breaches": c["response_breaches"],
        "resolution_breaches": c["resolution_breaches"],
        "csat_responses": c["csat_responses"],
        "csat": _ratio(c["csat_positive"], c["csat_responses"]),
        "nps_responses": c["nps_responses"],
        "nps": nps,
        "escalations": c["escalations"],
        "escalations_by_level": {
            k: totals.levels[k] for k in sorted(totals.levels, key=int) if totals.levels[k]
        },
    }
