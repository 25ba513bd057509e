"""Tests for core.calendars: worked examples plus property tests against a brute-force oracle.

The oracle below is written independently of the implementation: it walks real time one
UTC minute at a time, converts each minute to local wall time with zoneinfo and checks the
weekday's intervals and the holidays. All generated inputs are minute-aligned (interval
bounds, starts, and the DST transitions of the zones used), so every UTC minute is either
wholly working or wholly not, and minute counting is exact.
"""

import math
import time as stopwatch
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import calendars
from core.calendars import (
    Schedule,
    add_working_minutes,
    is_working_instant,
    next_working_instant,
    working_minutes_between,
    working_spans,
)
from tests.factories import BusinessCalendarFactory, HolidayFactory

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
MINUTE = timedelta(minutes=1)
MINUTES_PER_DAY = 1440


def office_hours(zone="Europe/Berlin", holidays=()):
    """Monday to Friday, 09:00-17:00."""
    return Schedule.from_spec(zone, {day: [(time(9), time(17))] for day in range(5)}, holidays)


def round_the_clock(zone, holidays=()):
    return Schedule.from_spec(zone, {day: [(time(0), time(0))] for day in range(7)}, holidays)


def berlin(*args):
    return datetime(*args, tzinfo=BERLIN)


# --- brute-force oracle -------------------------------------------------------------------


class Oracle:
    """Minute-by-minute reference model of the working-time definition.

    ``weekly`` maps weekday -> list of (start_minute, end_minute) with end_minute 1440 for
    midnight; intervals may overlap (the oracle simply takes their union).
    """

    def __init__(self, zone, weekly, holidays):
        self.zone = ZoneInfo(zone)
        self.working_minutes_of_day = [set() for _ in range(7)]
        for weekday, intervals in weekly.items():
            for start_minute, end_minute in intervals:
                self.working_minutes_of_day[weekday].update(range(start_minute, end_minute))
        self.holidays = set(holidays)

    def is_working_minute(self, utc_minute):
        local = utc_minute.astimezone(self.zone)
        if local.date() in self.holidays:
            return False
        return local.hour * 60 + local.minute in self.working_minutes_of_day[local.weekday()]

    def count(self, start, end):
        """Working minutes in [start, end)."""
        total = 0
        minute = start
        while minute < end:
            total += self.is_working_minute(minute)
            minute += MINUTE
        return total

    def add(self, start, minutes, search_minutes):
        """Instant after ``minutes`` working minutes (first working minute if 0), or None."""
        worked = 0
        minute = start
        for _ in range(search_minutes):
            if self.is_working_minute(minute):
                if minutes == 0:
                    return minute
                worked += 1
                if worked == minutes:
                    return minute + MINUTE
            minute += MINUTE
        return None


# --- hypothesis strategies ----------------------------------------------------------------

# Dates on or next to which each zone changes its UTC offset (Kolkata never does).
TRANSITION_DATES = {
    "Europe/Berlin": [date(2026, 3, 29), date(2026, 10, 25)],
    "Europe/London": [date(2026, 3, 29), date(2026, 10, 25)],
    "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)],
    "Australia/Sydney": [date(2026, 4, 5), date(2026, 10, 4)],
    # Historic Brazilian DST switched at local midnight, so whole local hours of a date
    # vanish or repeat across the date line.
    "America/Sao_Paulo": [date(2017, 10, 15), date(2018, 2, 18), date(2018, 11, 4)],
    "Asia/Kolkata": [date(2026, 3, 29), date(2026, 11, 1)],
    # +12:45 / +13:45, switching at 02:45 / 03:45 local.
    "Pacific/Chatham": [date(2026, 4, 5), date(2026, 9, 27)],
}

# Interval bounds around the usual transition hours (01:00-03:45), midnight and office hours.
INTERESTING_MINUTES = [0, 30, 60, 90, 120, 150, 165, 180, 210, 225, 540, 1020, 1380, 1410]

minute_of_day = st.one_of(st.sampled_from(INTERESTING_MINUTES), st.integers(0, 1439))
interval_length = st.one_of(
    st.sampled_from([30, 60, 90, 150, 210, 480, MINUTES_PER_DAY]), st.integers(1, 1440)
)
raw_interval = st.tuples(minute_of_day, interval_length).map(
    lambda pair: (pair[0], min(pair[0] + pair[1], MINUTES_PER_DAY))
)


def weekly_working_minutes(weekly):
    return sum(
        len(set().union(*(range(start, end) for start, end in intervals)))
        for intervals in weekly.values()
    )


# At least four working hours a week, so that 3000 working minutes are at most ~13 weeks away
# (tiny intervals still occur, next to bigger ones).
raw_weekly = st.dictionaries(
    st.integers(0, 6), st.lists(raw_interval, min_size=1, max_size=3), min_size=1, max_size=7
).filter(lambda weekly: weekly_working_minutes(weekly) >= 240)


def minute_to_time(minute):
    return time(0) if minute == MINUTES_PER_DAY else time(minute // 60, minute % 60)


class Case:
    """One generated calendar plus a start instant, with its schedule and its oracle."""

    def __init__(self, zone, weekly, holidays, start):
        self.zone = zone
        self.weekly = weekly
        self.holidays = holidays
        self.start = start
        self.schedule = Schedule.from_spec(
            zone,
            {
                weekday: [(minute_to_time(s), minute_to_time(e)) for s, e in intervals]
                for weekday, intervals in weekly.items()
            },
            holidays,
        )
        self.oracle = Oracle(zone, weekly, holidays)

    def __repr__(self):
        return (
            f"Case(zone={self.zone!r}, weekly={self.weekly!r}, holidays={self.holidays!r}, "
            f"start={self.start!r})"
        )


@st.composite
def cases(draw):
    zone = draw(st.sampled_from(sorted(TRANSITION_DATES)))
    anchor = draw(st.sampled_from(TRANSITION_DATES[zone]))
    weekly = draw(raw_weekly)
    holidays = draw(
        st.lists(st.integers(-3, 12), max_size=3).map(
            lambda offsets: sorted({anchor + timedelta(days=offset) for offset in offsets})
        )
    )
    anchor_utc = datetime.combine(anchor, time(0), tzinfo=UTC)
    start = anchor_utc + MINUTE * draw(st.integers(-3 * MINUTES_PER_DAY, 2 * MINUTES_PER_DAY))
    return Case(zone, weekly, holidays, start)


minute_counts = st.one_of(st.integers(0, 120), st.integers(0, 3000))

ORACLE_WINDOW_MINUTES = 8 * MINUTES_PER_DAY
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


# --- properties ---------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(case=cases(), minutes=minute_counts)
def test_add_working_minutes_matches_oracle(case, minutes):
    expected = case.oracle.add(case.start, minutes, ORACLE_WINDOW_MINUTES)
    result = add_working_minutes(case.schedule, case.start, minutes)
    assert result.tzinfo is UTC
    if expected is None:
        # Sparse calendar: the oracle gave up, so the answer must lie beyond its window.
        assert result > case.start + MINUTE * ORACLE_WINDOW_MINUTES
    else:
        assert result == expected


@PROPERTY_SETTINGS
@given(case=cases(), length=st.integers(0, ORACLE_WINDOW_MINUTES))
def test_working_minutes_between_matches_oracle(case, length):
    end = case.start + MINUTE * length
    expected = case.oracle.count(case.start, end)
    assert working_minutes_between(case.schedule, case.start, end) == expected

    spans = list(working_spans(case.schedule, case.start, end))
    assert sum((e - s for s, e in spans), timedelta()) == MINUTE * expected
    for span_start, span_end in spans:
        assert case.start <= span_start < span_end <= end
    for (_, previous_end), (next_start, _) in zip(spans, spans[1:], strict=False):
        assert previous_end < next_start  # sorted, disjoint and maximal (never touching)


@PROPERTY_SETTINGS
@given(case=cases(), offset=st.integers(0, 4 * MINUTES_PER_DAY))
def test_instant_queries_match_oracle(case, offset):
    at = case.start + MINUTE * offset
    assert is_working_instant(case.schedule, at) == case.oracle.is_working_minute(at)
    expected_next = case.oracle.add(at, 0, ORACLE_WINDOW_MINUTES)
    result = next_working_instant(case.schedule, at)
    if expected_next is None:
        assert result > at + MINUTE * ORACLE_WINDOW_MINUTES
    else:
        assert result == expected_next
    # In the middle of a working minute, the instant itself is working.
    mid_minute = at + timedelta(seconds=30)
    assert is_working_instant(case.schedule, mid_minute) == case.oracle.is_working_minute(at)


@PROPERTY_SETTINGS
@given(case=cases(), minutes=minute_counts)
def test_round_trip(case, minutes):
    deadline = add_working_minutes(case.schedule, case.start, minutes)
    assert working_minutes_between(case.schedule, case.start, deadline) == minutes


@PROPERTY_SETTINGS
@given(case=cases(), first=minute_counts, second=minute_counts)
def test_additivity(case, first, second):
    intermediate = add_working_minutes(case.schedule, case.start, first)
    chained = add_working_minutes(case.schedule, intermediate, second)
    if second > 0:
        assert chained == add_working_minutes(case.schedule, case.start, first + second)
    else:
        # Adding zero moves a deadline that ends a span on to the next working instant.
        assert chained == next_working_instant(case.schedule, intermediate)
    if first == 0:
        assert intermediate == next_working_instant(case.schedule, case.start)


@settings(max_examples=100, deadline=None)
@given(
    case=cases(),
    minutes=st.floats(min_value=0, max_value=3000, allow_nan=False),
    seconds=st.integers(0, 59),
)
def test_fractional_minutes_round_trip_to_the_microsecond(case, minutes, seconds):
    start = case.start + timedelta(seconds=seconds)
    deadline = add_working_minutes(case.schedule, start, minutes)
    assert math.isclose(
        working_minutes_between(case.schedule, start, deadline), minutes, abs_tol=1e-7
    )


# --- worked examples ----------------------------------------------------------------------


def test_friday_afternoon_ticket_rolls_over_the_weekend():
    deadline = add_working_minutes(office_hours(), berlin(2026, 3, 27, 16, 30), 60)
    assert deadline == berlin(2026, 3, 30, 9, 30)  # Monday, already in summer time
    assert deadline.tzinfo is UTC


def test_deadline_that_uses_up_the_day_lands_on_closing_time():
    assert add_working_minutes(office_hours(), berlin(2026, 3, 27, 16), 60) == berlin(
        2026, 3, 27, 17
    )


def test_clock_created_on_saturday_starts_on_monday_morning():
    schedule = office_hours()
    saturday = berlin(2026, 6, 6, 11, 15)
    assert add_working_minutes(schedule, saturday, 0) == berlin(2026, 6, 8, 9)
    assert next_working_instant(schedule, saturday) == berlin(2026, 6, 8, 9)
    assert add_working_minutes(schedule, saturday, 30) == berlin(2026, 6, 8, 9, 30)
    assert not is_working_instant(schedule, saturday)
    assert is_working_instant(schedule, berlin(2026, 6, 8, 9))
    assert not is_working_instant(schedule, berlin(2026, 6, 8, 17))


def test_holidays_are_skipped():
    schedule = office_hours(holidays=[date(2026, 12, 25)])  # a Friday
    deadline = add_working_minutes(schedule, berlin(2026, 12, 24, 16, 30), 60)
    assert deadline == berlin(2026, 12, 28, 9, 30)
    assert working_minutes_between(schedule, berlin(2026, 12, 21), berlin(2026, 12, 28)) == 4 * 480


def test_full_local_day_at_fall_back_has_25_working_hours():
    schedule = round_the_clock("Europe/Berlin")
    minutes = working_minutes_between(schedule, berlin(2026, 10, 25), berlin(2026, 10, 26))
    assert minutes == 25 * 60
    # Working time is real time, so the 24/7 UTC schedule agrees.
    always = Schedule.always()
    assert working_minutes_between(always, berlin(2026, 10, 25), berlin(2026, 10, 26)) == 25 * 60


def test_full_local_day_at_spring_forward_has_23_working_hours():
    schedule = round_the_clock("Europe/Berlin")
    minutes = working_minutes_between(schedule, berlin(2026, 3, 29), berlin(2026, 3, 30))
    assert minutes == 23 * 60


def test_interval_straddling_the_transition_hour():
    schedule = Schedule.from_spec("Europe/Berlin", {6: [(time(1), time(3, 30))]})
    # Spring forward: 02:00-03:00 does not exist, 1.5 real hours remain.
    assert working_minutes_between(schedule, berlin(2026, 3, 29), berlin(2026, 3, 30)) == 90
    # Fall back: 02:00-03:00 happens twice, 3.5 real hours.
    assert working_minutes_between(schedule, berlin(2026, 10, 25), berlin(2026, 10, 26)) == 210


def test_interval_in_the_repeated_hour_maps_to_two_utc_spans():
    schedule = Schedule.from_spec("America/New_York", {6: [(time(0, 30), time(1, 30))]})
    day_start = datetime(2026, 11, 1, tzinfo=NEW_YORK)
    spans = list(working_spans(schedule, day_start, day_start + timedelta(days=1)))
    assert spans == [
        (datetime(2026, 11, 1, 4, 30, tzinfo=UTC), datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
        (datetime(2026, 11, 1, 6, 0, tzinfo=UTC), datetime(2026, 11, 1, 6, 30, tzinfo=UTC)),
    ]


def test_midnight_transitions_in_sao_paulo():
    sao_paulo = ZoneInfo("America/Sao_Paulo")
    schedule = Schedule.from_spec(
        "America/Sao_Paulo", {5: [(time(23), time(0))], 6: [(time(0), time(1))]}
    )
    # 2018-11-04 (Sunday) began at 01:00: its 00:00-01:00 never happened.
    start = datetime(2018, 11, 3, 12, tzinfo=sao_paulo)
    assert working_minutes_between(schedule, start, start + timedelta(days=1)) == 60
    # 2018-02-17 (Saturday) ran 23:00-24:00 twice.
    start = datetime(2018, 2, 17, 12, tzinfo=sao_paulo)
    assert working_minutes_between(schedule, start, start + timedelta(days=1)) == 120 + 60


def test_spans_are_merged_across_utc_midnight():
    schedule = round_the_clock("Asia/Kolkata")
    start = datetime(2026, 5, 1, tzinfo=UTC)
    assert list(working_spans(schedule, start, start + timedelta(days=3))) == [
        (start, start + timedelta(days=3))
    ]


def test_always_is_plain_timedelta_arithmetic():
    schedule = Schedule.always()
    assert schedule is Schedule.from_calendar(None)
    assert schedule.is_always
    start = datetime(2026, 3, 29, 0, 30, tzinfo=BERLIN)
    # Real elapsed time across the spring-forward change (aware arithmetic in BERLIN itself
    # would be wall-clock arithmetic and an hour off).
    expected = start.astimezone(UTC) + timedelta(minutes=10_000)
    assert add_working_minutes(schedule, start, 10_000) == expected
    # 00:30 to 05:30 wall-clock time on the spring-forward day is four real hours.
    assert working_minutes_between(schedule, start, start + timedelta(hours=5)) == 240
    assert working_minutes_between(schedule, expected, expected + timedelta(hours=5)) == 300
    assert next_working_instant(schedule, start) == start
    assert is_working_instant(schedule, start)


def test_adding_10000_minutes_costs_days_not_minutes():
    schedule = office_hours()
    start = berlin(2026, 3, 27, 16, 30)
    calendars._utc_day_spans.cache_clear()
    calendars._offset_segments.cache_clear()
    began = stopwatch.perf_counter()
    deadline = add_working_minutes(schedule, start, 10_000)
    elapsed = stopwatch.perf_counter() - began
    assert working_minutes_between(schedule, start, deadline) == 10_000
    # About 1-2 ms with a cold cache; the bound is loose so a busy CI machine stays green.
    assert elapsed < 0.05


# --- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda s, naive: add_working_minutes(s, naive, 10),
        lambda s, naive: working_minutes_between(s, naive, berlin(2026, 1, 1)),
        lambda s, naive: working_minutes_between(s, berlin(2026, 1, 1), naive),
        lambda s, naive: list(working_spans(s, naive, berlin(2026, 1, 1))),
        lambda s, naive: next_working_instant(s, naive),
        lambda s, naive: is_working_instant(s, naive),
    ],
)
@pytest.mark.parametrize("schedule", [office_hours(), Schedule.always()])
def test_naive_datetimes_are_rejected(call, schedule):
    with pytest.raises(ValueError, match="timezone-aware"):
        call(schedule, datetime(2026, 1, 1, 12))


def test_schedule_without_working_time():
    schedule = Schedule.from_spec("Europe/Berlin", {})
    start = berlin(2026, 1, 1)
    with pytest.raises(ValueError, match="no working intervals"):
        add_working_minutes(schedule, start, 10)
    with pytest.raises(ValueError, match="no working intervals"):
        next_working_instant(schedule, start)
    assert working_minutes_between(schedule, start, start + timedelta(days=30)) == 0
    assert list(working_spans(schedule, start, start + timedelta(days=30))) == []
    assert not is_working_instant(schedule, start)


def test_search_gives_up_instead_of_looping_forever(monkeypatch):
    monkeypatch.setattr(calendars, "MAX_SEARCH_DAYS", 30)
    mondays = [date(2026, 1, 5) + timedelta(weeks=week) for week in range(6)]
    schedule = Schedule.from_spec("Europe/Berlin", {0: [(time(9), time(10))]}, mondays)
    with pytest.raises(ValueError, match="No working time within 30 days"):
        add_working_minutes(schedule, berlin(2026, 1, 1), 1)


@pytest.mark.parametrize("minutes", [-1, -0.5, math.nan, math.inf])
def test_invalid_minute_counts(minutes):
    with pytest.raises(ValueError):
        add_working_minutes(office_hours(), berlin(2026, 1, 5, 9), minutes)


def test_intervals_are_normalised():
    schedule = Schedule.from_spec(
        "Europe/Berlin",
        {
            0: [(time(13), time(17)), (time(9), time(12)), (time(11), time(13, 30))],
            1: [(time(22), None)],
        },
    )
    assert schedule.intervals[0] == ((time(9), time(17)),)
    assert schedule.intervals[1] == ((time(22), None),)
    assert schedule.intervals[2] == ()
    same = Schedule.from_spec("Europe/Berlin", {0: [(time(9), time(17))], 1: [(time(22), time(0))]})
    assert schedule == same
    assert hash(schedule) == hash(same)


@pytest.mark.parametrize(
    "weekly",
    [{0: [(time(17), time(9))]}, {0: [(time(9), time(9))]}, {7: [(time(9), time(17))]}],
)
def test_invalid_specs_are_rejected(weekly):
    with pytest.raises(ValueError):
        Schedule.from_spec("Europe/Berlin", weekly)


def test_holidays_must_be_dates_not_datetimes():
    # A datetime never equals a date, so it would silently never match a local date.
    with pytest.raises(TypeError, match="holidays must be dates"):
        office_hours(holidays=[datetime(2026, 12, 25)])


# --- database ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_from_calendar_reads_intervals_and_holidays(django_assert_num_queries):
    calendar = BusinessCalendarFactory()
    HolidayFactory(calendar=calendar, date=date(2026, 12, 25))
    expected = office_hours(holidays=[date(2026, 12, 25)])

    assert Schedule.from_calendar(calendar) == expected

    calendar = type(calendar).objects.prefetch_related("intervals", "holidays").get(pk=calendar.pk)
    with django_assert_num_queries(0):
        schedule = Schedule.from_calendar(calendar)
    assert schedule == expected
    assert add_working_minutes(schedule, berlin(2026, 12, 24, 16, 30), 60) == berlin(
        2026, 12, 28, 9, 30
    )


@pytest.mark.django_db
def test_from_calendar_treats_midnight_end_as_end_of_day():
    calendar = BusinessCalendarFactory(office_hours=False, time_zone="America/New_York")
    calendar.intervals.create(weekday=5, start_time=time(20), end_time=time(0))
    schedule = Schedule.from_calendar(calendar)
    assert schedule.intervals[5] == ((time(20), None),)
    saturday_evening = datetime(2026, 6, 6, 23, tzinfo=NEW_YORK)
    assert add_working_minutes(schedule, saturday_evening, 60) == datetime(
        2026, 6, 6, 23, tzinfo=NEW_YORK
    ) + timedelta(hours=1)
    assert add_working_minutes(schedule, saturday_evening, 61) == datetime(
        2026, 6, 13, 20, 1, tzinfo=NEW_YORK
    )
