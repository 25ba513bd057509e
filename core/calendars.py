"""Working-time arithmetic for business calendars (the engine behind SLA clocks).

A ``Schedule`` is an immutable, hashable snapshot of a ``BusinessCalendar``: a time zone,
the working intervals of each local weekday and a set of local holiday dates.

Definition of working time
--------------------------
A real (UTC) instant is *working* when

* its local wall-clock time in the schedule's zone falls inside a working interval
  ``[start, end)`` of its local weekday (an interval ending at ``None``/00:00 runs to the
  end of the local day), and
* its local date is not a holiday.

Working time is real elapsed time, so daylight-saving changes neither add nor lose minutes.
Consequences at DST changes:

* fall-back: the repeated wall-clock hour happens twice in real time, so if it lies inside
  an interval it counts twice (e.g. 00:00-24:00 on the Europe/Berlin fall-back day is
  25 real hours of working time);
* spring-forward: the skipped wall-clock hour never happens, so it contributes nothing
  (the same day has 23 hours);
* one wall-clock interval can map to two separate UTC spans (00:30-01:30 on the US
  fall-back day: once in daylight time, then 01:00-01:30 again in standard time).

Conventions
-----------
* Every input ``datetime`` must be timezone-aware (``ValueError`` otherwise); every output is
  an aware ``datetime`` in UTC.
* Ranges are half-open: ``[start, end)``.
* ``add_working_minutes(schedule, start, 0)`` is the next working instant at or after
  ``start``: a clock started outside working hours starts at the next working minute.
* For ``minutes > 0`` the result is the *earliest* instant at which that much working time
  has elapsed, so a deadline that uses up a whole span lands on the span's end (Friday
  17:00), not on the start of the next span (Monday 09:00).

How it works
------------
Time is processed one UTC day at a time. Within a UTC day the zone's UTC offset is piecewise
constant; the offset changes are found by sampling the offset every hour and bisecting to the
second between samples that disagree (tz database transitions fall on whole seconds). Inside a
segment of constant offset, local wall time is simply ``UTC + offset``, so the local working
intervals map onto UTC by a plain shift. This handles every oddity the tz database has
(transitions at local midnight, skipped or doubled local dates) without special cases. The
only assumption is that the zone never changes its offset and changes it back again within
one hour. The spans of each ``(schedule, UTC date)`` are cached, so the cost of every
function is proportional to the number of days spanned, not the number of minutes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Interval = tuple[time, time | None]
Span = tuple[datetime, datetime]

ONE_DAY = timedelta(days=1)
ONE_MINUTE = timedelta(minutes=1)
MIDNIGHT = time(0)

#: How far ahead ``next_working_instant`` / ``add_working_minutes`` search before giving up.
MAX_SEARCH_DAYS = 3653  # about ten years

_SECONDS_PER_DAY = 86_400
# Offsets are sampled this often and bisected in between. A zone that changes its offset
# and changes it back within one sampling step would go unnoticed; no zone does.
_OFFSET_SAMPLE_SECONDS = 3_600


@dataclass(frozen=True)
class Schedule:
    """When the clock runs: weekly wall-clock intervals and holidays in one time zone.

    ``intervals`` has seven entries, Monday (0) to Sunday (6). Each entry is a tuple of
    ``(start, end)`` local times, sorted and non-overlapping; ``end`` is ``None`` for an
    interval that runs to midnight. Whatever is passed in is normalised: ``end == 00:00``
    becomes ``None``, and overlapping or touching intervals are merged. ``holidays`` are
    local dates on which nothing is working.

    Instances are hashable and compare by value, which lets per-day results be cached.
    """

    time_zone: ZoneInfo
    intervals: tuple[tuple[Interval, ...], ...]
    holidays: frozenset[date] = frozenset()
    # Derived flags, excluded from equality and hashing.
    is_always: bool = field(init=False, repr=False, compare=False)
    has_working_time: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        time_zone = self.time_zone
        if isinstance(time_zone, str):
            time_zone = ZoneInfo(time_zone)
        if not isinstance(time_zone, ZoneInfo):
            raise TypeError(f"time_zone must be a ZoneInfo or a zone name, not {time_zone!r}")

        days = tuple(self.intervals)
        if len(days) != 7:
            raise ValueError(f"intervals needs one entry per weekday (7), got {len(days)}")
        intervals = tuple(_normalise_day(day) for day in days)

        holidays = frozenset(self.holidays)
        for holiday in holidays:
            # A datetime is a date subclass but never equals a date, so it would silently
            # never match; refuse it instead.
            if not isinstance(holiday, date) or isinstance(holiday, datetime):
                raise TypeError(f"holidays must be dates, got {holiday!r}")

        object.__setattr__(self, "time_zone", time_zone)
        object.__setattr__(self, "intervals", intervals)
        object.__setattr__(self, "holidays", holidays)
        object.__setattr__(self, "has_working_time", any(intervals))
        # Round-the-clock without holidays: every instant is working in any zone, so the
        # functions below can use plain timedelta arithmetic.
        object.__setattr__(
            self,
            "is_always",
            not holidays and all(day == ((MIDNIGHT, None),) for day in intervals),
        )

    @classmethod
    def always(cls) -> Schedule:
        """The 24/7 schedule in UTC: every instant is working (SLA policy without a calendar)."""
        return _ALWAYS

    @classmethod
    def from_spec(
        cls,
        time_zone: str,
        weekly: Mapping[int, Iterable[tuple[time, time | None]]],
        holidays: Iterable[date] = (),
    ) -> Schedule:
        """Build a schedule from ``{weekday: [(start, end), ...]}``; missing weekdays are off.

        ``end`` may be ``time(0)`` or ``None`` for "until midnight".
        """
        unknown = set(weekly) - set(range(7))
        if unknown:
            raise ValueError(f"weekdays are 0 (Monday) to 6 (Sunday), got {sorted(unknown)}")
        return cls(
            time_zone=ZoneInfo(time_zone),
            intervals=tuple(tuple(weekly.get(day, ())) for day in range(7)),
            holidays=frozenset(holidays),
        )

    @classmethod
    def from_calendar(cls, calendar) -> Schedule:
        """Snapshot a ``BusinessCalendar``; ``None`` gives ``Schedule.always()``.

        Reads ``calendar.intervals.all()`` and ``calendar.holidays.all()``, so callers can
        ``prefetch_related("intervals", "holidays")`` to avoid queries. A calendar without
        any interval yields a schedule with no working time (the clock functions then raise
        ``ValueError`` rather than silently treating it as 24/7).
        """
        if calendar is None:
            return cls.always()
        weekly: dict[int, list[Interval]] = {day: [] for day in range(7)}
        for interval in calendar.intervals.all():
            weekly[interval.weekday].append((interval.start_time, interval.end_time))
        return cls(
            time_zone=ZoneInfo(calendar.time_zone),
            intervals=tuple(tuple(weekly[day]) for day in range(7)),
            holidays=frozenset(holiday.date for holiday in calendar.holidays.all()),
        )


# --- public functions -------------------------------------------------------------------


def working_spans(schedule: Schedule, start: datetime, end: datetime) -> Iterator[Span]:
    """Yield the working time within ``[start, end)`` as UTC ``(span_start, span_end)`` pairs.

    Spans are in order, non-empty, and maximal: two yielded spans never touch (a span that
    continues across UTC midnight is yielded once). Nothing is yielded if ``end <= start``.
    """
    start = _as_utc(start, "start")
    end = _as_utc(end, "end")
    return _clipped_spans(schedule, start, end)


def working_minutes_between(schedule: Schedule, start: datetime, end: datetime) -> float:
    """Working minutes in ``[start, end)``; 0 if ``end <= start``.

    Exact to the microsecond (whole seconds give exact fractional minutes).
    """
    start = _as_utc(start, "start")
    end = _as_utc(end, "end")
    if end <= start:
        return 0.0
    if schedule.is_always:
        return (end - start) / ONE_MINUTE
    total = timedelta()
    for span_start, span_end in _clipped_spans(schedule, start, end):
        total += span_end - span_start
    return total / ONE_MINUTE


def add_working_minutes(schedule: Schedule, start: datetime, minutes: int | float) -> datetime:
    """The earliest UTC instant by which ``minutes`` working minutes have elapsed after ``start``.

    Counting starts at the next working instant at or after ``start``; ``minutes == 0``
    returns that instant. Raises ``ValueError`` for negative or non-finite ``minutes``, for a
    schedule without working time, and when the answer is more than about ten years away.
    """
    start = _as_utc(start, "start")
    if isinstance(minutes, bool) or not isinstance(minutes, int | float):
        raise TypeError(f"minutes must be a number, got {minutes!r}")
    if not math.isfinite(minutes) or minutes < 0:
        raise ValueError(f"minutes must be a finite number >= 0, got {minutes!r}")
    remaining = timedelta(minutes=minutes)
    if schedule.is_always:
        return start + remaining
    for span_start, span_end in _spans_from(schedule, start):
        length = span_end - span_start
        # "<=" so that a deadline using up a span exactly lands on its end.
        if remaining <= length:
            return span_start + remaining
        remaining -= length
    raise AssertionError("unreachable: _spans_from raises when it runs out")  # pragma: no cover


def next_working_instant(schedule: Schedule, at: datetime) -> datetime:
    """The earliest working UTC instant at or after ``at`` (``at`` itself if it is working).

    Raises ``ValueError`` for a schedule without working time or when the answer is more
    than about ten years away.
    """
    at = _as_utc(at, "at")
    if schedule.is_always:
        return at
    for span_start, _span_end in _spans_from(schedule, at):
        return span_start
    raise AssertionError("unreachable: _spans_from raises when it runs out")  # pragma: no cover


def is_working_instant(schedule: Schedule, at: datetime) -> bool:
    """Whether ``at`` is working time under the definition in the module docstring."""
    at = _as_utc(at, "at")
    if schedule.is_always:
        return True
    return any(
        span_start <= at < span_end for span_start, span_end in _utc_day_spans(schedule, at.date())
    )


# --- internals --------------------------------------------------------------------------


def _as_utc(value: datetime, name: str) -> datetime:
    """``value`` converted to UTC; refuses naive datetimes (their meaning is a guess)."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC)


def _time_to_delta(value: time) -> timedelta:
    return timedelta(
        hours=value.hour, minutes=value.minute, seconds=value.second, microseconds=value.microsecond
    )


def _delta_to_time(value: timedelta) -> time:
    return (datetime.min + value).time()


def _normalise_day(pairs: Iterable[tuple[time, time | None]]) -> tuple[Interval, ...]:
    """Validate one weekday's intervals; sort them and merge overlapping or touching ones."""
    bounds: list[tuple[timedelta, timedelta]] = []
    for start, end in pairs:
        for value in (start, end):
            if value is not None and (not isinstance(value, time) or value.tzinfo is not None):
                raise TypeError(f"interval bounds must be naive times, got {value!r}")
        if start is None:
            raise TypeError("an interval needs a start time")
        start_delta = _time_to_delta(start)
        end_delta = ONE_DAY if end is None or end == MIDNIGHT else _time_to_delta(end)
        if end_delta <= start_delta:
            raise ValueError(f"interval {start}-{end} must end after it starts")
        bounds.append((start_delta, end_delta))
    bounds.sort()
    merged: list[list[timedelta]] = []
    for start_delta, end_delta in bounds:
        if merged and start_delta <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end_delta)
        else:
            merged.append([start_delta, end_delta])
    return tuple(
        (_delta_to_time(start_delta), None if end_delta == ONE_DAY else _delta_to_time(end_delta))
        for start_delta, end_delta in merged
    )


def _require_working_time(schedule: Schedule) -> None:
    if not schedule.has_working_time:
        raise ValueError(
            "This schedule has no working intervals on any weekday, so its clock never runs."
        )


def _spans_from(schedule: Schedule, start: datetime) -> Iterator[Span]:
    """Working spans from ``start`` onwards (clipped at ``start``; may touch at UTC midnight).

    Raises ``ValueError`` after ``MAX_SEARCH_DAYS`` days, so that a schedule whose working
    time is all on holidays cannot make a caller loop forever.
    """
    _require_working_time(schedule)
    day = start.date()
    for _ in range(MAX_SEARCH_DAYS + 1):
        for span_start, span_end in _utc_day_spans(schedule, day):
            if span_end > start:
                yield max(span_start, start), span_end
        day += ONE_DAY
    raise ValueError(
        f"No working time within {MAX_SEARCH_DAYS} days after {start.isoformat()}; "
        "check the calendar's intervals and holidays."
    )


def _clipped_spans(schedule: Schedule, start: datetime, end: datetime) -> Iterator[Span]:
    """Maximal working spans inside ``[start, end)`` (both already in UTC)."""
    if end <= start:
        return
    if schedule.is_always:
        yield start, end
        return
    pending: list[datetime] | None = None
    day = start.date()
    while datetime.combine(day, MIDNIGHT, tzinfo=UTC) < end:
        for span_start, span_end in _utc_day_spans(schedule, day):
            span_start = max(span_start, start)
            span_end = min(span_end, end)
            if span_start >= span_end:
                continue
            # Per-day spans are split at UTC midnight; glue the halves back together.
            if pending is not None and pending[1] == span_start:
                pending[1] = span_end
            else:
                if pending is not None:
                    yield pending[0], pending[1]
                pending = [span_start, span_end]
        day += ONE_DAY
    if pending is not None:
        yield pending[0], pending[1]


@functools.lru_cache(maxsize=8192)
def _utc_day_spans(schedule: Schedule, day: date) -> tuple[Span, ...]:
    """The working spans (UTC, sorted, disjoint, merged) within the UTC day ``day``."""
    day_start = datetime.combine(day, MIDNIGHT)  # naive UTC until the end, for cheap maths
    spans: list[list[datetime]] = []
    for segment_start, segment_end, offset in _offset_segments(schedule.time_zone, day_start):
        # Inside the segment the offset is constant: local wall time = UTC + offset.
        local_start = segment_start + offset
        local_end = segment_end + offset
        local_date = local_start.date()
        while datetime.combine(local_date, MIDNIGHT) < local_end:
            if local_date not in schedule.holidays:
                for interval_start, interval_end in schedule.intervals[local_date.weekday()]:
                    wall_start = datetime.combine(local_date, interval_start)
                    if interval_end is None:
                        wall_end = datetime.combine(local_date + ONE_DAY, MIDNIGHT)
                    else:
                        wall_end = datetime.combine(local_date, interval_end)
                    span_start = max(wall_start, local_start) - offset
                    span_end = min(wall_end, local_end) - offset
                    if span_start >= span_end:
                        continue
                    # Segments are disjoint and processed in order, so spans arrive sorted;
                    # only spans that touch across an offset change need merging.
                    if spans and spans[-1][1] == span_start:
                        spans[-1][1] = span_end
                    else:
                        spans.append([span_start, span_end])
            local_date += ONE_DAY
    return tuple((s.replace(tzinfo=UTC), e.replace(tzinfo=UTC)) for s, e in spans)


# Cached separately from the spans because every schedule in the same zone shares it, and it
# is the expensive part of computing a day (about 25 zoneinfo look-ups).
@functools.lru_cache(maxsize=8192)
def _offset_segments(
    time_zone: ZoneInfo, day_start: datetime
) -> tuple[tuple[datetime, datetime, timedelta], ...]:
    """Split the naive-UTC day at ``day_start`` into ``(start, end, utc_offset)`` segments."""
    aware_start = day_start.replace(tzinfo=UTC)

    def offset_at(second: int) -> timedelta:
        return (aware_start + timedelta(seconds=second)).astimezone(time_zone).utcoffset()

    # (second of the day at which the offset starts, offset)
    changes: list[tuple[int, timedelta]] = [(0, offset_at(0))]
    sample_second, sample_offset = 0, changes[0][1]
    for next_sample in range(_OFFSET_SAMPLE_SECONDS, _SECONDS_PER_DAY + 1, _OFFSET_SAMPLE_SECONDS):
        next_offset = offset_at(next_sample)
        low, low_offset = sample_second, sample_offset
        while low_offset != next_offset:
            # Bisect to the second at which the offset changes away from low_offset.
            # Invariant: offset_at(bisect_low) == low_offset != offset_at(high).
            bisect_low, high = low, next_sample
            while high - bisect_low > 1:
                middle = (bisect_low + high) // 2
                if offset_at(middle) == low_offset:
                    bisect_low = middle
                else:
                    high = middle
            low, low_offset = high, offset_at(high)
            if high < _SECONDS_PER_DAY:  # a change at the next midnight belongs to tomorrow
                changes.append((high, low_offset))
        sample_second, sample_offset = next_sample, next_offset

    segments = []
    for index, (second, offset) in enumerate(changes):
        end_second = changes[index + 1][0] if index + 1 < len(changes) else _SECONDS_PER_DAY
        segments.append(
            (
                day_start + timedelta(seconds=second),
                day_start + timedelta(seconds=end_second),
                offset,
            )
        )
    return tuple(segments)


# Built last because Schedule.__post_init__ needs the helpers above.
_ALWAYS = Schedule(ZoneInfo("UTC"), (((MIDNIGHT, None),),) * 7)
