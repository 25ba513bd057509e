"""Reads of analytics go to the replica when one is configured; writes, and reads inside a
transaction on the primary, stay on the primary. Against a real second PostgreSQL database
(the test settings' `replica`), which holds none of the primary's rows: a lagging copy."""

import datetime as dt

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from analytics import rollups
from analytics.models import DailySlice
from analytics.selectors import Query, report
from core.replica import REPLICA, primary, reading_replica
from support.models import Ticket

from .factories import World, frozen, reply, ticket

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", REPLICA])

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 19)


@pytest.fixture
def world(settings):
    settings.ANALYTICS_TIME_ZONE = "UTC"
    world = World()
    with frozen(dt.datetime(2026, 11, 19, 9, 0, tzinfo=dt.UTC)) as clock:
        t = ticket(world)
        clock.at += dt.timedelta(minutes=20)
        reply(t, world.lead)
    with frozen(NOW):
        rollups.refresh(now=NOW)
    return world


def created(user):
    client = APIClient()
    client.force_authenticate(user)
    with frozen(NOW):
        body = client.get("/api/v1/support/analytics/", {"start": DAY, "end": DAY}).json()
    return body["totals"]["created"]


def test_analytics_read_the_replica_and_write_the_primary(world, settings):
    settings.DATABASE_REPLICA_URL = "postgres://replica.example/support"
    query = Query(start=DAY, end=DAY)
    with frozen(NOW):
        assert report(user=world.lead, query=query, now=NOW)["totals"]["created"] == 1
        with reading_replica():
            assert report(user=world.lead, query=query, now=NOW)["totals"]["created"] == 0
            with primary():  # what must be current reads the primary
                assert Ticket.objects.count() == 1
            with transaction.atomic():  # a transaction reads its own writes
                assert DailySlice.objects.exists()
            # Writes go to the primary, also from inside a replica block.
            assert rollups.refresh(now=NOW).busy is False
    assert DailySlice.objects.exists()
    assert not DailySlice.objects.using(REPLICA).exists()
    assert created(world.lead) == 0  # the API reads the replica


def test_without_a_replica_everything_reads_the_primary(world, settings):
    settings.DATABASE_REPLICA_URL = ""
    assert created(world.lead) == 1
