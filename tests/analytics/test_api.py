"""GET /api/v1/support/analytics/: figures, comparison, grouping, CSV, and who sees what."""

import csv
import datetime as dt
import io

import pytest
from rest_framework.test import APIClient

from analytics import rollups
from knowledge.models import SuggestionOpened

from ..knowledge.factories import make_article
from .factories import World, assign, frozen, reply, ticket

pytestmark = pytest.mark.django_db

URL = "/api/v1/support/analytics/"
NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def world(settings):
    settings.ANALYTICS_TIME_ZONE = "Europe/Berlin"
    world = World()
    with frozen(dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.UTC)) as clock:
        for team in (0, 1):
            t = ticket(world, team=team)
            agent = world.agents[0] if team == 0 else world.agents[2]
            assign(world, t, agent)
            clock.at += dt.timedelta(minutes=30)
            reply(t, agent)
    with frozen(NOW):
        rollups.refresh(now=NOW)
    return world


def get(user, **params):
    client = APIClient()
    client.force_authenticate(user)
    with frozen(NOW):
        return client.get(URL, params)


def test_a_lead_sees_every_team(world):
    response = get(world.lead, start="2026-11-18", end="2026-11-20", by="team")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["totals"]["created"] == 2
    assert body["totals"]["times"]["first_response_calendar"]["median"] == pytest.approx(30, abs=1)
    assert [row["label"] for row in body["breakdown"]] == ["Billing desk", "Tech desk"]
    assert body["previous"] == {
        "start": "2026-11-15", "end": "2026-11-17", "totals": body["previous"]["totals"]
    }  # fmt: skip
    assert body["change"]["created"] == 2
    assert body["time_zone"] == "Europe/Berlin"


def test_an_agent_sees_their_team_only_and_a_customer_nothing(world):
    mine = get(world.agents[0], start="2026-11-18", end="2026-11-20", by="team").json()
    assert mine["totals"]["created"] == 1
    assert [row["label"] for row in mine["breakdown"]] == ["Billing desk"]
    # Asking for another team's figures gives none, not theirs.
    other = get(world.agents[0], start="2026-11-18", end="2026-11-20",
                team=world.teams[1].pk).json()  # fmt: skip
    assert other["totals"]["created"] == 0
    assert get(world.customers[0]).status_code == 403


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2026-11-20", "end": "2026-11-01"},
        {"start": "2025-01-01", "end": "2026-11-20"},
        {"group": "year"},
        {"by": "colour"},
        {"start": "yesterday"},
        {"team": "-1"},
    ],
)
def test_bad_queries_are_refused(world, params):
    response = get(world.lead, **params)
    assert response.status_code == 400
    assert response.json()["errors"]


def test_grouped_by_week_and_month(world):
    week = get(world.lead, start="2026-11-01", end="2026-11-30", group="week").json()
    assert [row["period"] for row in week["series"]][:2] == ["2026-10-26", "2026-11-02"]
    month = get(world.lead, start="2026-11-01", end="2026-11-30", group="month").json()
    assert len(month["series"]) == 1 and month["series"][0]["figures"]["created"] == 2


def test_csv_is_streamed_one_row_per_group(world):
    response = get(world.lead, start="2026-11-18", end="2026-11-20", by="agent", export="csv")
    assert response.status_code == 200
    assert response.streaming and response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["agent", "label", "created"]
    assert [row[1] for row in rows[1:-1]] == ["Agent 0", "Agent 2"]
    assert rows[-1][0] == "total" and rows[-1][2] == "2"


def test_query_count_does_not_grow_with_tickets(world, django_assert_max_num_queries):
    client = APIClient()
    client.force_authenticate(world.lead)
    params = {"start": "2026-11-01", "end": "2026-11-20", "by": "agent"}
    with frozen(NOW), django_assert_max_num_queries(12) as few:
        client.get(URL, params)
    with frozen(dt.datetime(2026, 11, 19, 9, 0, tzinfo=dt.UTC)) as clock:
        for index in range(12):
            t = ticket(world, team=index % 2)
            assign(world, t, world.agents[index % 4])
            clock.at += dt.timedelta(minutes=5)
            reply(t, world.agents[index % 4])
    with frozen(NOW):
        rollups.refresh(now=NOW)
    with frozen(NOW), django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(URL, params).json()["totals"]["created"] == 14


def test_knowledge_deflection_counts_settled_suggestions(world):
    article = make_article(by=world.lead, title="Reset your router")
    opened = dt.datetime(2026, 11, 18, 10, 0, tzinfo=dt.UTC)
    SuggestionOpened.objects.create(article=article, viewer="a", opened_at=opened)
    SuggestionOpened.objects.create(
        article=article,
        viewer="b",
        opened_at=opened,
        ticket_followed_at=opened + dt.timedelta(minutes=5),
    )
    SuggestionOpened.objects.create(article=article, viewer="c", opened_at=opened)
    body = get(world.lead, start="2026-11-18", end="2026-11-20").json()
    assert body["knowledge"] == {"suggestions_opened": 3, "deflected": 2, "deflection_rate": 0.6667}
    assert get(world.agents[0], start="2026-11-18", end="2026-11-20").json()["knowledge"]
