"""Every metric of one hand-made day, read by the exact path and by the rollups, in two zones.

The day holds a ticket opened at 23:30 and answered and solved after midnight, a reopened one,
one paused while it waited on the customer, a cancelled one, and one merged into another that
stays open. The expected figures are worked out by hand in the organisation's zone.
"""

import datetime as dt
import zoneinfo

import pytest

from analytics import rollups, selectors
from analytics.selectors import Query, report
from support import services

from .factories import World, assign, frozen, reply, ticket

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 10)
NEXT = dt.date(2026, 11, 11)


def local(zone, hour, minute=0, day=DAY):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zoneinfo.ZoneInfo(zone))


def build_day(zone):
    world = World()
    agent = world.agents[0]
    customer, other = world.customers[0], world.customers[1]
    made = {}
    with frozen(local(zone, 10)) as clock:

        def at(hour, minute=0, day=DAY):
            clock.at = local(zone, hour, minute, day)

        made["b"] = b = ticket(world, customer=other)  # reopened
        assign(world, b, agent)
        at(10, 10)
        reply(b, agent)
        at(12, 10)
        services.resolve_ticket(ticket=b, by=agent)
        at(13, 10)
        services.reopen_ticket(ticket=b, by=agent)
        reply(b, agent, "Now for good")
        at(14, 10)
        services.resolve_ticket(ticket=b, by=agent)

        at(12)
        made["c"] = c = ticket(world, customer=other)  # paused five hours
        assign(world, c, agent)
        at(12, 20)
        reply(c, agent)
        at(12, 30)
        services.wait_on_customer(ticket=c, by=agent)
        at(17, 30)
        reply(c, other, "Here it is")
        at(18)
        services.resolve_ticket(ticket=c, by=agent)

        at(13)
        made["d"] = d = ticket(world)  # cancelled
        at(13, 30)
        services.cancel_ticket(ticket=d, by=world.lead)

        at(14)
        made["e"] = e = ticket(world, customer=customer)  # merged into f
        at(14, 10)
        made["f"] = f = ticket(world, customer=customer)  # still open
        at(14, 30)
        services.merge_tickets(source=e, target=f, by=world.lead)

        at(23, 30)
        made["a"] = a = ticket(world, customer=customer)  # crosses midnight
        assign(world, a, agent)
        at(0, 10, NEXT)
        reply(a, agent)
        at(2, 30, NEXT)
        services.resolve_ticket(ticket=a, by=agent)
        at(3, 0, NEXT)
        services.rate_ticket(ticket=a, by=customer, rating=5, nps_score=10)
    return world, made


def figures_of(result, day):
    return next(row["figures"] for row in result["series"] if row["period"] == day)


@pytest.fixture(params=["America/New_York", "Asia/Tokyo"])
def zone(request, settings):
    settings.ANALYTICS_TIME_ZONE = request.param
    return request.param


@pytest.mark.parametrize("exact", [True, False], ids=["exact", "rollups"])
def test_each_metric_of_a_hand_made_day(zone, exact):
    world, _ = build_day(zone)
    now = local(zone, 12, day=dt.date(2026, 11, 20))
    with frozen(now):
        rollups.refresh(now=now)
        result = report(user=world.lead, query=Query(start=DAY, end=NEXT), now=now, exact=exact)
    day, next_day, totals = figures_of(result, DAY), figures_of(result, NEXT), result["totals"]

    assert day["created"] == 6 and next_day["created"] == 0
    assert day["solved"] == 2 and next_day["solved"] == 1  # b and c, then a after midnight
    assert day["backlog"] == 2 and next_day["backlog"] == 1  # a and f, then f
    assert day["reopen_rate"] == 0.5 and day["fcr_rate"] == 0.5  # b reopened; c one reply
    assert next_day["fcr_rate"] == 1.0
    times = totals["times"]
    # First replies after 10 (b), 20 (c) and 40 minutes (a, on the next day).
    assert times["first_response_calendar"]["count"] == 3
    assert times["first_response_calendar"]["median"] == pytest.approx(20, abs=1)
    assert times["first_response_calendar"]["mean"] == pytest.approx(70 / 3, abs=0.1)
    # Resolution: a 180, b 250, c 360 calendar minutes; working minutes leave out the hour b
    # sat resolved and the five hours c waited on its customer.
    assert times["resolution_calendar"]["median"] == pytest.approx(250, rel=0.02)
    assert times["resolution_working"]["count"] == 3
    assert times["resolution_working"]["mean"] == pytest.approx((180 + 190 + 60) / 3, abs=0.1)
    assert day["times"]["resolution_working"]["median"] == pytest.approx(60, abs=1)
    assert totals["response_compliance"] == 1.0 and totals["response_measured"] == 3
    assert totals["csat"] == 1.0 and totals["nps"] == 100.0
    assert next_day["csat_responses"] == 1 and day["csat_responses"] == 0
    assert totals["replies"] == 4  # agent replies; the customer's does not count
    assert totals["reopens"] == 1


def test_comparison_with_the_previous_period(zone):
    world, _ = build_day(zone)
    now = local(zone, 12, day=dt.date(2026, 11, 20))
    with frozen(now):
        rollups.refresh(now=now)
        result = report(user=world.lead, query=Query(start=NEXT, end=NEXT), now=now)
    assert result["previous"]["start"] == DAY
    assert result["previous"]["totals"]["created"] == 6
    assert result["change"]["created"] == -6
    assert result["change"]["solved"] == 1 - 2


@pytest.mark.parametrize("exact", [True, False], ids=["exact", "rollups"])
def test_an_agent_sees_own_and_team_figures_only(zone, exact, settings):
    world, made = build_day(zone)
    outsider = world.agents[3]  # tech desk; every ticket of the day is unteamed or billing
    now = local(zone, 12, day=dt.date(2026, 11, 20))
    with frozen(now):
        rollups.refresh(now=now)
        mine = report(user=world.agents[0], query=Query(start=DAY, end=NEXT), now=now, exact=exact)
        theirs = report(user=outsider, query=Query(start=DAY, end=NEXT), now=now, exact=exact)
    assert mine["totals"]["created"] == 6  # billing desk is the default team 0
    assert mine["totals"]["solved"] == 3
    assert theirs["totals"]["created"] == 0 and theirs["totals"]["replies"] == 0


def test_today_is_read_from_the_live_tables(zone):
    world, made = build_day(zone)
    now = local(zone, 20, day=NEXT)
    with frozen(now):
        # No job has run: the past day's rollups are empty, today comes live.
        result = report(user=world.lead, query=Query(start=NEXT, end=NEXT), now=now)
    assert result["totals"]["solved"] == 1
    assert result["totals"]["times"]["first_response_calendar"]["count"] == 1


def test_a_job_far_behind_is_said_not_hidden(zone, monkeypatch):
    world, _ = build_day(zone)
    monkeypatch.setattr(selectors, "PENDING_LIMIT", 5)
    now = local(zone, 12, day=dt.date(2026, 11, 20))
    with frozen(now):
        result = report(user=world.lead, query=Query(start=DAY, end=NEXT), now=now)
        assert result["stale"] is True and result["totals"]["created"] == 0
        rollups.refresh(now=now)
        result = report(user=world.lead, query=Query(start=DAY, end=NEXT), now=now)
        assert result["stale"] is False and result["totals"]["created"] == 6
