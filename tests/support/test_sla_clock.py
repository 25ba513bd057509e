"""The SLA clock rules against an independent minute-by-minute simulation.

A ticket goes through random pauses (waiting on the customer), resolutions, reopenings and
priority changes on a random business calendar around DST changes in several zones. The
simulation walks every UTC minute and counts it when the calendar says it is working time and the
ticket's resolution clock was running then.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.calendars import Schedule
from support import sla
from support.models import Ticket
from support.models.choices import Status

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]
DST_DAYS = {
    "Europe/Berlin": [dt.datetime(2026, 3, 27), dt.datetime(2026, 10, 23)],
    "America/New_York": [dt.datetime(2026, 3, 6), dt.datetime(2026, 10, 30)],
    "Australia/Sydney": [dt.datetime(2026, 4, 2), dt.datetime(2026, 10, 2)],
    "Asia/Kolkata": [dt.datetime(2026, 6, 1)],
}
MINUTE = dt.timedelta(minutes=1)


@st.composite
def calendars(draw):
    zone = draw(st.sampled_from(ZONES))
    weekly = {}
    for day in range(7):
        if draw(st.booleans()) or day < 2:
            start = draw(st.integers(0, 20))
            length = draw(st.integers(2, 24 - start))
            end = None if start + length == 24 else dt.time(start + length)
            weekly[day] = [(dt.time(start), end)]
    base = draw(st.sampled_from(DST_DAYS[zone]))
    holidays = draw(
        st.lists(st.integers(0, 12).map(lambda d: (base + dt.timedelta(days=d)).date()), max_size=2)
    )
    return zone, weekly, holidays, base


@st.composite
def histories(draw):
    """Status changes at increasing minute offsets, plus target changes."""
    steps = []
    minute = 0
    state = Status.IN_PROGRESS
    for _ in range(draw(st.integers(0, 6))):
        minute += draw(st.integers(1, 900))
        kind = draw(st.sampled_from(["pause", "resume", "resolve", "reopen", "retarget"]))
        if kind == "pause" and state == Status.IN_PROGRESS:
            steps.append((minute, Status.WAITING_ON_CUSTOMER, None))
            state = Status.WAITING_ON_CUSTOMER
        elif kind == "resume" and state == Status.WAITING_ON_CUSTOMER:
            steps.append((minute, Status.IN_PROGRESS, None))
            state = Status.IN_PROGRESS
        elif kind == "resolve" and state in (Status.IN_PROGRESS, Status.WAITING_ON_CUSTOMER):
            steps.append((minute, Status.RESOLVED, None))
            state = Status.RESOLVED
        elif kind == "reopen" and state == Status.RESOLVED:
            steps.append((minute, Status.IN_PROGRESS, None))
            state = Status.IN_PROGRESS
        elif kind == "retarget":
            steps.append((minute, None, draw(st.integers(1, 2000))))
    return steps


def is_working(moment: dt.datetime, zone, weekly, holidays) -> bool:
    local = moment.astimezone(ZoneInfo(zone))
    if local.date() in holidays:
        return False
    for start, end in weekly.get(local.weekday(), []):
        wall = local.time().replace(tzinfo=None)
        if start <= wall and (end is None or wall < end):
            return True
    return False


def oracle_due(created, target, paused_minutes, zone, weekly, holidays):
    """The instant at which `target` working, unpaused minutes have passed since `created`."""
    moment, counted = created, 0
    limit = created + dt.timedelta(days=60)
    while moment < limit:
        if counted == target:
            return moment
        if moment not in paused_minutes and is_working(moment, zone, weekly, holidays):
            counted += 1
            if counted == target:
                return moment + MINUTE
        moment += MINUTE
    return None


@pytest.fixture
def fake_schedule(monkeypatch):
    holder = {}
    monkeypatch.setattr(sla, "schedule_for", lambda policy: holder["schedule"])
    return holder


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    calendar=calendars(),
    offset=st.integers(0, 8 * 24 * 60),
    response_target=st.integers(1, 600),
    resolution_target=st.integers(1, 2000),
    history=histories(),
)
def test_clocks_match_a_minute_by_minute_simulation(
    fake_schedule, calendar, offset, response_target, resolution_target, history
):
    zone, weekly, holidays, base = calendar
    fake_schedule["schedule"] = Schedule.from_spec(zone, weekly, holidays)
    created = base.replace(tzinfo=dt.UTC) + dt.timedelta(minutes=offset)
    ticket = Ticket(
        created_at=created,
        status=Status.IN_PROGRESS,
        response_target_minutes=response_target,
        resolution_target_minutes=resolution_target,
    )
    sla.recompute_due_times(ticket)
    assert ticket.first_response_due_at == oracle_due(
        created, response_target, set(), zone, weekly, holidays
    )

    paused, pause_start = set(), None
    for minute, status, new_target in history:
        now = created + dt.timedelta(minutes=minute)
        if new_target is not None:
            ticket.resolution_target_minutes = resolution_target = new_target
            sla.recompute_due_times(ticket, now=now)
            continue
        old, ticket.status = ticket.status, status
        if status == Status.RESOLVED:
            ticket.resolved_at = now
        elif old == Status.RESOLVED:
            ticket.resolved_at = None
        sla.on_status_change(ticket, old_status=old, at=now)
        clock_stops = status in (Status.WAITING_ON_CUSTOMER, Status.RESOLVED)
        if clock_stops and pause_start is None:
            pause_start = now
        elif not clock_stops and pause_start is not None:
            moment = pause_start
            while moment < now:
                paused.add(moment)
                moment += MINUTE
            pause_start = None

    if ticket.status == Status.IN_PROGRESS:
        expected = oracle_due(created, resolution_target, paused, zone, weekly, holidays)
        assert ticket.resolution_due_at == expected
        assert ticket.sla_due_at == min(ticket.first_response_due_at, ticket.resolution_due_at)
    else:
        assert ticket.sla_paused_at is not None


def test_created_outside_working_hours_starts_at_the_next_working_minute(fake_schedule):
    fake_schedule["schedule"] = Schedule.from_spec(
        "Europe/Berlin", {d: [(dt.time(9), dt.time(17))] for d in range(5)}
    )
    saturday = dt.datetime(2026, 3, 28, 12, 0, tzinfo=dt.UTC)
    ticket = Ticket(
        created_at=saturday,
        status=Status.OPEN,
        response_target_minutes=30,
        resolution_target_minutes=600,
    )
    sla.recompute_due_times(ticket)
    # Monday 30 March 09:00 CEST (after the spring-forward change) is 07:00 UTC.
    assert ticket.first_response_due_at == dt.datetime(2026, 3, 30, 7, 30, tzinfo=dt.UTC)
    assert ticket.resolution_due_at == dt.datetime(2026, 3, 31, 9, 0, tzinfo=dt.UTC)
