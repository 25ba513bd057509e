"""The analytics dashboard in a real browser: a lead opens it, changes the range, sorts the
breakdown and drills into a figure, under the site's Content-Security-Policy."""

import datetime as dt
import os
import random
import re

import pytest
from django.utils import timezone

from analytics import rollups
from tests.analytics.factories import World, generate

from .test_pages_in_chromium import SCREENSHOTS, browser, sign_in, watch_for_csp_violations

__all__ = ["browser"]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
]


def test_a_lead_reads_the_dashboard_changes_the_range_and_drills_in(browser, live_server):
    world = World()
    start = timezone.now() - dt.timedelta(days=150)
    end = generate(world, rng=random.Random(2026), start=start, count=70)
    assert end < timezone.now()
    rollups.refresh()

    page = sign_in(browser, live_server, world.lead.email)
    reports: list[str] = []
    watch_for_csp_violations(page, reports)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/desk/")
    page.click("nav >> text=Analytics")
    page.wait_for_load_state()
    assert page.locator(".headline").count() == 11
    assert page.locator(".chart-box canvas").count() == 3
    drawn = "ids => ids.every(id => window.Chart.getChart(document.getElementById(id)))"
    assert page.evaluate(drawn, ["chart-volume", "chart-backlog", "chart-response"])

    # A wider range, broken down by team: the address carries it.
    first = start.date().isoformat()
    page.fill("input[name=start]", first)
    page.select_option("select[name=by]", "team")
    page.click("form.analytics-filters button[type=submit]")
    page.wait_for_load_state()
    assert f"start={first}" in page.url and "by=team" in page.url
    created = int(page.locator('[data-figure="created"] strong').inner_text())
    assert created == 70
    assert page.locator("#breakdown tbody tr").count() == 3  # two teams and none
    page.click("#breakdown thead >> text=Created")
    page.wait_for_load_state()
    assert "sort=created" in page.url
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, "desk-analytics.png"), full_page=True)

    # A week's "created" bar opens the tickets created that week.
    page.goto(page.url.replace("group=day", "group=week"))
    page.wait_for_load_state()
    tallest = page.evaluate(
        """() => {
            const chart = window.Chart.getChart(document.getElementById("chart-volume"));
            const bars = chart.getDatasetMeta(0).data;
            const values = chart.data.datasets[0].data;
            const index = values.indexOf(Math.max(...values));
            const bar = bars[index];
            return {index, value: values[index], x: bar.x, y: (bar.y + bar.base) / 2};
        }"""
    )
    with page.expect_navigation():
        page.locator("#chart-volume").click(position={"x": tallest["x"], "y": tallest["y"]})
    assert "metric=created" in page.url and "group" not in page.url
    shown = set(re.findall(r"TKT-\d{8}-\d{4}", page.locator("#drill-tickets").inner_text()))
    assert len(shown) == tallest["value"] > 0
    page.go_back()
    page.wait_for_load_state()

    # Drill into the figure: the tickets behind "Created".
    page.click('[data-figure="created"]')
    page.wait_for_load_state()
    assert "metric=created" in page.url
    numbers = set(re.findall(r"TKT-\d{8}-\d{4}", page.locator("#drill-tickets").inner_text()))
    assert len(numbers) == 50  # the first page
    page.click("text=Older →")
    page.wait_for_load_state()
    assert page.locator("#drill-tickets tbody tr").count() == 20
    assert reports == []
