"""The desk's analytics pages: figures, filters in the URL, sorting, drill-down, who sees what."""

import datetime as dt
import re

import pytest
from django.test import Client

from analytics import rollups

from .factories import World, assign, frozen, reply, ticket

pytestmark = pytest.mark.django_db

URL = "/desk/analytics/"
DRILL = "/desk/analytics/tickets/"
NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
RANGE = {"start": "2026-11-18", "end": "2026-11-20"}


@pytest.fixture
def world(settings):
    settings.ANALYTICS_TIME_ZONE = "Europe/Berlin"
    world = World()
    world.made = []
    with frozen(dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.UTC)) as clock:
        for index, team in enumerate((0, 1, 1)):
            t = ticket(world, team=team)
            agent = world.agents[0] if team == 0 else world.agents[2]
            assign(world, t, agent)
            clock.at += dt.timedelta(minutes=10 + index * 20)
            reply(t, agent)
            world.made.append(t)
    with frozen(NOW):
        rollups.refresh(now=NOW)
    return world


def page(user, url=URL, **params):
    client = Client()
    client.force_login(user)
    with frozen(NOW):
        return client.get(url, params)


def test_the_dashboard_shows_headlines_charts_and_a_breakdown(world):
    response = page(world.lead, **RANGE, by="team")
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(
        r'data-figure="created">\s*<span[^>]*>Created</span>\s*<strong>3</strong>', html
    )
    assert "+3 vs previous" in html
    assert html.count('<canvas id="chart-') == 3
    assert "vendor/chartjs/chart.umd.min.js" in html
    assert "Billing desk" in html and "Tech desk" in html
    assert 'href="/desk/analytics/"' in html  # the menu entry


def test_the_breakdown_sorts_by_any_column(world):
    def table(**params):
        html = page(world.lead, **RANGE, by="team", sort="created", **params).content.decode()
        return html.split('id="breakdown"')[1]

    descending = table(dir="desc")
    assert descending.index("Tech desk") < descending.index("Billing desk")
    ascending = table(dir="asc")
    assert ascending.index("Billing desk") < ascending.index("Tech desk")
    assert 'aria-sort="ascending"' in ascending


def test_a_figure_drills_into_its_tickets(world):
    html = page(world.lead, **RANGE, by="team").content.decode()
    link = re.search(r'href="(/desk/analytics/tickets/\?[^"]*metric=created[^"]*)"', html)
    assert link
    drill = page(world.lead, link.group(1).replace("&amp;", "&"))
    numbers = re.findall(r"TKT-\d{8}-\d{4}", drill.content.decode())
    assert sorted(set(numbers)) == sorted(t.number for t in world.made)
    # Every figure of a breakdown row leads to its tickets: the tech desk's first answers.
    table = html.split('id="breakdown"')[1]
    tech_row = table[table.index("Tech desk") :].split("</tr>")[0]
    answered = re.search(r'href="([^"]*metric=first_response[^"]*)"', tech_row).group(1)
    drill = page(world.lead, answered.replace("&amp;", "&"))
    found = set(re.findall(r"TKT-\d{8}-\d{4}", drill.content.decode()))
    assert found == {t.number for t in world.made[1:]}
    team_only = page(world.lead, DRILL, **RANGE, metric="created", team=world.teams[1].pk)
    found = set(re.findall(r"TKT-\d{8}-\d{4}", team_only.content.decode()))
    assert found == {t.number for t in world.made[1:]}


def test_an_agent_sees_only_their_team_and_a_customer_is_refused(world):
    html = page(world.agents[0], **RANGE, by="team").content.decode()
    assert "Billing desk" in html and "Tech desk" not in html.split('id="breakdown"')[1]
    drill = page(world.agents[0], DRILL, **RANGE, metric="created")
    assert set(re.findall(r"TKT-\d{8}-\d{4}", drill.content.decode())) == {world.made[0].number}
    assert page(world.customers[0]).status_code == 403
    assert page(world.customers[0], DRILL, metric="created").status_code == 403


def test_a_bad_range_says_so_and_shows_the_default(world):
    response = page(world.lead, start="2026-11-20", end="2026-11-01")
    assert response.status_code == 200
    assert "Showing the last 30 days" in response.content.decode()
    assert page(world.lead, DRILL, metric="nonsense").status_code == 404


def test_queries_do_not_grow_with_tickets(world, django_assert_max_num_queries):
    client = Client()
    client.force_login(world.lead)
    params = {"start": "2026-11-01", "end": "2026-11-20", "by": "agent"}
    with frozen(NOW), django_assert_max_num_queries(40) as few:
        client.get(URL, params)
        client.get(DRILL, {**params, "metric": "created"})
    with frozen(dt.datetime(2026, 11, 19, 9, 0, tzinfo=dt.UTC)) as clock:
        for index in range(15):
            t = ticket(world, team=index % 2)
            assign(world, t, world.agents[index % 4])
            clock.at += dt.timedelta(minutes=5)
            reply(t, world.agents[index % 4])
    with frozen(NOW):
        rollups.refresh(now=NOW)
    with frozen(NOW), django_assert_max_num_queries(len(few.captured_queries)):
        client.get(URL, params)
        client.get(DRILL, {**params, "metric": "created"})


def test_the_admin_lists_alerts_and_the_watermark_read_only(world, admin_user):
    client = Client()
    client.force_login(admin_user)
    for url in ("/admin/analytics/alertsent/", "/admin/analytics/watermark/"):
        response = client.get(url)
        assert response.status_code == 200
        assert b"Add " not in response.content.split(b'id="content-main"')[-1][:2000]
    assert client.get("/admin/analytics/alertsent/add/").status_code == 403


def test_the_charts_data_has_each_period_with_the_tickets_behind_its_bars(world):
    import json

    html = page(world.lead, **RANGE).content.decode()
    raw = html.split('<script id="analytics-trends" type="application/json">')[1]
    trends = json.loads(raw.split("</script>")[0])
    assert [row["label"] for row in trends["rows"]] == ["18 Nov", "19 Nov", "20 Nov"]
    first = trends["rows"][0]
    assert (first["created"], first["solved"]) == (3, 0)
    assert "start=2026-11-18" in first["created_url"] and "end=2026-11-18" in first["created_url"]
    drill = page(world.lead, first["created_url"])
    numbers = re.findall(r"TKT-\d{8}-\d{4}", drill.content.decode())
    assert sorted(set(numbers)) == sorted(t.number for t in world.made)
    # The same figures as a table, for screen readers and pages without script.
    table = html.split('id="trend-figures"')[1]
    assert "18 Nov" in table and f'href="{first["created_url"].replace("&", "&amp;")}"' in table
    nothing = page(world.lead, **{**RANGE, "start": "2026-11-20"}, group="week").content.decode()
    assert "week of 16 Nov" in nothing  # a week cut by the range is labelled by its Monday


def test_a_month_chart_links_each_bar_to_its_part_of_the_range(world):
    import json

    from analytics.charts import period_end

    assert period_end(dt.date(2028, 2, 1), "month") == dt.date(2028, 2, 29)
    html = page(world.lead, start="2026-10-15", end="2026-11-20", group="month").content.decode()
    raw = html.split('<script id="analytics-trends" type="application/json">')[1]
    rows = json.loads(raw.split("</script>")[0])["rows"]
    assert [(r["label"], r["start"], r["end"]) for r in rows] == [
        ("Oct 2026", "2026-10-15", "2026-10-31"),
        ("Nov 2026", "2026-11-01", "2026-11-20"),
    ]
