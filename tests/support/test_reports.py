"""The SLA report aggregates in the database; it must say exactly what counting by hand says.

The reference below is the report computed row by row in Python (what the first version did,
loading every ticket of the range). Random tickets with every combination of dimensions, clocks
with and without a policy, breaches, ties and missing times are compared field by field, with
the medians from PostgreSQL and with the fallback that computes them in Python (SQLite).
"""

import datetime as dt
import random
import statistics
from collections import defaultdict

import pytest
from django.utils import timezone

from core.models.users import CustomerTier
from support import reports
from support.models import SLAPolicy, Ticket
from support.models.choices import Channel, Priority

from ..factories import OrganizationFactory, UserFactory
from .factories import CategoryFactory, TeamFactory, make_ticket

pytestmark = pytest.mark.django_db


def reference_summary(rows) -> dict:
    measured = [r for r in rows if r["sla_policy_id"] is not None]
    breached = [r for r in measured if r["response_breached"] or r["resolution_breached"]]

    def times(column):
        return [r[column] for r in measured if r[column] is not None]

    def rounded(function, values):
        return round(function(values), 1) if values else None

    summary = {
        "tickets": len(measured),
        "breached": len(breached),
        "compliance_rate": round(1 - len(breached) / len(measured), 4) if measured else None,
        "response_breaches": sum(1 for r in measured if r["response_breached"]),
        "resolution_breaches": sum(1 for r in measured if r["resolution_breached"]),
    }
    for name, column in reports.TIMES.items():
        values = times(column)
        summary[name] = {
            "average": rounded(statistics.fmean, values),
            "median": rounded(statistics.median, values),
        }
    return summary


def reference_report(tickets, start, end) -> dict:
    since, until = reports._range(start, end)
    rows = list(
        tickets.filter(created_at__gte=since, created_at__lt=until)
        .order_by()
        .values(
            "sla_policy_id",
            "response_breached",
            "resolution_breached",
            *reports.TIMES.values(),
            *reports.DIMENSIONS.values(),
        )
    )
    report = {"overall": reference_summary(rows)}
    for name, column in reports.DIMENSIONS.items():
        groups = defaultdict(list)
        for row in rows:
            groups[row[column] or "none"].append(row)
        report[f"by_{name}"] = {key: reference_summary(groups[key]) for key in sorted(groups)}
    return report


def random_tickets(seed: int, count: int = 40):
    rng = random.Random(seed)
    now = timezone.now()
    policy = SLAPolicy.objects.get(priority=Priority.HIGH, customer_tier="")
    categories = [CategoryFactory(slug=f"cat-{n}") for n in range(3)] + [None]
    teams = [TeamFactory() for _ in range(2)] + [None]
    organizations = [OrganizationFactory(tier=tier) for tier in CustomerTier.values] + [None]
    customers = [UserFactory(roles=["customer"], organization=org) for org in organizations]
    for index in range(count):
        ticket = make_ticket(
            by=rng.choice(customers),
            subject=f"Ticket {index}",
            priority=rng.choice(Priority.values),
            created_at=now - dt.timedelta(hours=rng.randint(1, 24 * 40)),
        )
        breached_response, breached_resolution = rng.random() < 0.3, rng.random() < 0.3
        Ticket.objects.filter(pk=ticket.pk).update(
            category=rng.choice(categories),
            team=rng.choice(teams),
            channel=rng.choice(Channel.values),
            sla_policy=policy if rng.random() < 0.8 else None,
            response_breached=breached_response,
            resolution_breached=breached_resolution,
            # Halves: exact in binary, so the database's sums and Python's agree to the bit.
            first_response_working_minutes=rng.choice([None, *range(0, 400, 5)]) or None,
            resolution_working_minutes=rng.choice([None, 30.5, 60, 90.5, 120, 120, 2000]),
            response_breached_at=now - dt.timedelta(hours=1) if breached_response else None,
            resolution_breached_at=now - dt.timedelta(minutes=30) if breached_resolution else None,
        )


@pytest.mark.parametrize("medians_in_database", [True, False], ids=["postgres", "python"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_report_matches_counting_ticket_by_ticket(seed, medians_in_database, monkeypatch):
    random_tickets(seed)
    monkeypatch.setattr(reports, "medians_in_database", lambda: medians_in_database)
    today = timezone.localdate()
    for start, end in (
        (today - dt.timedelta(days=60), today),
        (today - dt.timedelta(days=9), today),
    ):
        report = reports.sla_report(tickets=Ticket.objects.all(), start=start, end=end)
        expected = reference_report(Ticket.objects.all(), start, end)
        assert report["overall"]["tickets"] > 0
        for key, value in expected.items():
            assert report[key] == value, key
    # A range without tickets: an overall line of zeros and no groups, as counting gives.
    empty = (today + dt.timedelta(days=30), today + dt.timedelta(days=31))
    report = reports.sla_report(tickets=Ticket.objects.all(), start=empty[0], end=empty[1])
    expected = reference_report(Ticket.objects.all(), *empty)
    assert report["overall"]["tickets"] == 0
    for key, value in expected.items():
        assert report[key] == value, key


def test_a_year_of_tickets_is_never_loaded_into_memory():
    """Every statement aggregates or is bounded: none returns a row per ticket of the range."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    random_tickets(4, count=10)
    today = timezone.localdate()
    with CaptureQueriesContext(connection) as captured:
        reports.sla_report(
            tickets=Ticket.objects.all(), start=today - dt.timedelta(days=365), end=today
        )
    assert len(captured) == 3  # one grouped scan of the range, one query per breach clock
    for query in captured:
        sql = query["sql"]
        assert "COUNT(" in sql or f"LIMIT {reports.BREACH_LIST_LIMIT}" in sql, sql


def test_a_queryset_that_matches_nothing_gives_an_empty_report():
    today = timezone.localdate()
    report = reports.sla_report(tickets=Ticket.objects.none(), start=today, end=today)
    assert report["overall"]["tickets"] == 0 and report["overall"]["compliance_rate"] is None
    assert report["by_priority"] == {} and report["breaches"] == []
