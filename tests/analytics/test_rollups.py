"""The rollups against the tickets: generated history, the incremental job against a rebuild
from scratch, and every figure of the rollups against the exact, ticket-by-ticket path."""

import datetime as dt
import random

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analytics import rollups, selectors
from analytics.metrics import COUNTS, TIMES
from analytics.models import DailyRollup, TicketFact
from analytics.selectors import DIMENSIONS, Query, report
from analytics.tasks import refresh_rollups
from support import services
from support.models import Ticket, TicketEvent

from ..concurrency import assert_outcomes, run_concurrently
from .factories import World, frozen, generate

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 10, 1, 6, 0, tzinfo=dt.UTC)


def table() -> dict:
    """The rollup rows as comparable values (sums rounded: they are added and taken back)."""
    rows = {}
    for row in DailyRollup.objects.order_by().values():
        key = (row["day"], row["team_id"], row["agent_id"], row["priority"],
               row["category_id"], row["channel"])  # fmt: skip
        values = {name: row[name] for name in COUNTS}
        for name in TIMES:
            values[f"{name}_n"] = row[f"{name}_n"]
            values[f"{name}_sum"] = round(row[f"{name}_sum"], 3)
        values["histograms"] = row["histograms"]
        rows[key] = values
    return rows


def within_bound(rolled, exact):
    if exact is None:
        return rolled is None
    if exact < 60:
        return abs(rolled - exact) <= 1.05
    return abs(rolled - exact) <= 0.02 * exact + 0.05


def assert_same_figures(rolled: dict, exact: dict):
    for name, value in exact.items():
        if name == "times":
            for time, stats in value.items():
                got = rolled["times"][time]
                assert got["count"] == stats["count"], time
                assert (
                    got["mean"] == pytest.approx(stats["mean"], abs=0.11)
                    if stats["mean"] is not None
                    else got["mean"] is None
                )
                for percentile in ("median", "p90"):
                    assert within_bound(got[percentile], stats[percentile]), (time, percentile)
        elif name.endswith("_median"):
            assert within_bound(rolled[name], value), name
        else:
            assert rolled[name] == value, name


@pytest.fixture(params=["America/New_York", "Asia/Tokyo"])
def zone(request, settings):
    settings.ANALYTICS_TIME_ZONE = request.param
    return request.param


def test_incremental_equals_rebuilt_and_rollups_match_the_tickets(zone):
    world = World()
    runs = []

    def job(clock):
        runs.append(rollups.refresh(now=clock.at))

    end = generate(world, rng=random.Random(16), start=START, count=45, after_each=job)
    with frozen(end):
        rollups.refresh(now=end)
        incremental = table()
        assert incremental and any(run.changed for run in runs)
        assert rollups.refresh(now=end).changed == 0  # idempotent
        rollups.rebuild()
        assert table() == incremental

        first = dt.date(2026, 10, 1)
        last = (end + dt.timedelta(days=3)).date()
        combinations = [(by, {}) for by in (None, *DIMENSIONS)] + [
            # Two dimensions at once: read from the full rollup rows, not the slices.
            ("team", {"priority": "high"}),
            ("agent", {"channel": "email"}),
            (None, {"team": world.teams[0].pk, "category": 0}),
            ("priority", {"priority": "urgent"}),
        ]
        for by, filters in combinations:
            for group in ("day", "week", "month"):
                query = Query(start=first, end=last, group=group, by=by, filters=filters)
                rolled = report(user=world.lead, query=query, now=end + dt.timedelta(days=5))
                exact = report(user=world.lead, query=query, now=end + dt.timedelta(days=5),
                               exact=True)  # fmt: skip
                assert_same_figures(rolled["totals"], exact["totals"])
                for got, want in zip(rolled["series"], exact["series"], strict=True):
                    assert got["period"] == want["period"]
                    assert_same_figures(got["figures"], want["figures"])
                assert [r["key"] for r in rolled["breakdown"]] == [
                    r["key"] for r in exact["breakdown"]
                ]
                for got, want in zip(rolled["breakdown"], exact["breakdown"], strict=True):
                    assert_same_figures(got["figures"], want["figures"])
        # The history holds what the rules are about.
        exact_totals = report(user=world.lead, query=Query(start=first, end=last), exact=True,
                              now=end + dt.timedelta(days=5))["totals"]  # fmt: skip
        assert exact_totals["reopens"] and exact_totals["solved"] and exact_totals["escalations"]
        assert exact_totals["csat_responses"] and exact_totals["backlog"]
        assert Ticket.objects.filter(merged_into__isnull=False).exists()
        assert Ticket.objects.filter(status="cancelled").exists()
        assert any(t.sla_pauses for t in Ticket.objects.all())  # waited on the customer


def test_a_range_rebuild_restores_the_range(zone):
    world = World()
    end = generate(world, rng=random.Random(7), start=START, count=20)
    with frozen(end):
        rollups.refresh(now=end)
        before = table()
        days = sorted({key[0] for key in before})
        middle_start, middle_end = days[len(days) // 3], days[2 * len(days) // 3]
        DailyRollup.objects.filter(day__gte=middle_start, day__lte=middle_end).update(created=99)
        call_command("rebuild_analytics", start=str(middle_start), end=str(middle_end))
        assert table() == before


def test_a_change_to_an_old_ticket_moves_only_its_own_contribution(zone):
    world = World()
    end = generate(world, rng=random.Random(3), start=START, count=10)
    with frozen(end) as clock:
        rollups.refresh(now=end)
        ticket = Ticket.objects.filter(status="resolved").order_by("pk").first()
        clock.at = end + dt.timedelta(hours=1)
        services.reopen_ticket(ticket=ticket, by=world.lead)
        result = rollups.refresh(now=clock.at)
        assert (result.events, result.tickets, result.changed) == (1, 1, 1)
        incremental = table()
        rollups.rebuild()
        assert table() == incremental


def test_the_job_costs_the_same_whatever_the_history(zone, django_assert_max_num_queries):
    world = World()
    end = generate(world, rng=random.Random(5), start=START, count=25)
    with frozen(end) as clock:
        rollups.refresh(now=end)
        ticket = Ticket.objects.filter(status="resolved").order_by("pk").first()
        clock.at = end + dt.timedelta(hours=1)
        services.reopen_ticket(ticket=ticket, by=world.lead)
        with django_assert_max_num_queries(20):
            assert rollups.refresh(now=clock.at).changed == 1
        with django_assert_max_num_queries(8):
            assert rollups.refresh(now=clock.at).changed == 0


def test_an_event_committed_late_behind_the_watermark_is_still_seen(zone):
    world = World()
    end = generate(world, rng=random.Random(9), start=START, count=3)
    with frozen(end):
        rollups.refresh(now=end)
        mark = rollups.Watermark.objects.get(name=rollups.STREAM)
        # As if the last event's id had been missing when the job passed it.
        last = TicketEvent.objects.order_by("-id").first()
        mark.gaps = [[last.id, last.id, end.isoformat()]]
        mark.save()
        TicketFact.objects.filter(ticket_id=last.ticket_id).update(contributions=[])
        result = rollups.refresh(now=end)
        assert result.tickets == 1
        assert rollups.Watermark.objects.get(name=rollups.STREAM).gaps == []


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_fold_each_change_once(settings):
    settings.ANALYTICS_TIME_ZONE = "UTC"
    world = World()
    end = generate(world, rng=random.Random(11), start=START, count=12)
    with frozen(end):
        outcomes = run_concurrently(lambda: rollups.refresh(now=end), [(), ()])
        results = assert_outcomes(outcomes, succeeded=2)
        # One folds all twelve tickets; the other found the watermark taken (busy) or, if it
        # came after, nothing left to do.
        assert sorted(r.changed for r in results) == [0, 12]
        assert [r.busy for r in results].count(True) <= 1
        incremental = table()
        rollups.rebuild()
        assert table() == incremental


def test_the_command_refuses_half_a_range(db):
    with pytest.raises(CommandError):
        call_command("rebuild_analytics", start="2026-01-01")
    with pytest.raises(CommandError):
        call_command("rebuild_analytics", start="2026-02-01", end="2026-01-01")


def test_changes_since_the_last_run_are_read_live(zone):
    world = World()
    end = generate(world, rng=random.Random(21), start=START, count=25)
    with frozen(end) as clock:
        rollups.refresh(now=end)
        # After the job: an old ticket reopened, a new one answered and solved, nothing folded.
        clock.at = end + dt.timedelta(hours=2)
        old = Ticket.objects.filter(status="resolved").order_by("pk").first()
        services.reopen_ticket(ticket=old, by=world.lead)
        fresh = services.create_ticket(by=world.lead, subject="New", customer=world.customers[0],
                                       team=world.teams[0])  # fmt: skip
        services.add_message(ticket=fresh, by=world.agents[0], body="On it")
        services.resolve_ticket(ticket=fresh, by=world.agents[0])
        first, last = dt.date(2026, 10, 1), (clock.at + dt.timedelta(days=1)).date()
        for by in (None, "team", "agent"):
            query = Query(start=first, end=last, group="week", by=by)
            rolled = report(user=world.lead, query=query, now=clock.at)
            exact = report(user=world.lead, query=query, now=clock.at, exact=True)
            assert_same_figures(rolled["totals"], exact["totals"])
            for got, want in zip(rolled["breakdown"], exact["breakdown"], strict=True):
                assert_same_figures(got["figures"], want["figures"])
        assert rollups.refresh(now=clock.at).changed == 2


def test_the_beat_task_runs_the_job(settings):
    settings.ANALYTICS_TIME_ZONE = "UTC"
    world = World()
    generate(world, rng=random.Random(1), start=START, count=2)
    assert refresh_rollups() == 2
    assert refresh_rollups() == 0


def test_a_report_read_while_the_job_commits_is_read_again(zone, monkeypatch):
    world = World()
    end = generate(world, rng=random.Random(4), start=START, count=8)
    with frozen(end) as clock:
        rollups.refresh(now=end)
        clock.at = end + dt.timedelta(hours=1)
        fresh = services.create_ticket(by=world.lead, subject="New", customer=world.customers[0])
        services.add_message(ticket=fresh, by=world.agents[0], body="On it")
        real_pending = selectors.RollupSource.pending
        calls = []

        def job_commits_meanwhile(source):
            if not calls:  # after the rollup rows were read, before the pending changes
                rollups.refresh(now=clock.at)
            calls.append(source)
            return real_pending(source)

        monkeypatch.setattr(selectors.RollupSource, "pending", job_commits_meanwhile)
        query = Query(start=dt.date(2026, 10, 1), end=clock.at.date(), compare=False)
        rolled = report(user=world.lead, query=query, now=clock.at)
        monkeypatch.setattr(selectors.RollupSource, "pending", real_pending)
        exact = report(user=world.lead, query=query, now=clock.at, exact=True)
        assert_same_figures(rolled["totals"], exact["totals"])
        assert len({id(source) for source in calls}) == 2  # read again, once
