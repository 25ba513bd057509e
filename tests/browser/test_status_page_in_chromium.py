"""The public status page in a real browser, during an incident and after it, at desktop and
phone width, under the site's Content-Security-Policy (no inline style: the bars are classes)."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import services, statuspage
from incidents.models import Component, Status
from tests.factories import UserFactory

from .test_pages_in_chromium import SCREENSHOTS, browser, watch_for_csp_violations

__all__ = ["browser"]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def shot(page, name):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, f"status-{name}.png"), full_page=True)


def test_the_status_page_during_and_after_an_incident(browser, live_server):
    agent = UserFactory(roles=["agent"], full_name="Avery Agent")
    api = Component.objects.create(name="API", group="Platform", order=0)
    Component.objects.create(name="Dashboard", group="Platform", order=1)
    Component.objects.create(name="Help center", group="Customer-facing", order=0)
    # The components have been on the page for a year: every bar has a day to show.
    Component.objects.update(created_at=timezone.now() - timedelta(days=365))
    incident = services.create_incident(
        by=agent, title="Exports fail for some customers", severity="high", category="outage",
        impact="major", components={api: "major_outage"},
    )  # fmt: skip
    services.post_update(incident=incident, by=agent, public=True,
                         body="We found a failing release and are rolling it back.")  # fmt: skip
    services.post_update(incident=incident, by=agent, body="db-2 pool exhausted (internal)")
    statuspage.invalidate()

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    reports: list[str] = []
    watch_for_csp_violations(page, reports)
    page.goto(f"{live_server.url}/status/")
    assert page.locator(".status-overall h1").inner_text() == "Major outage"
    assert "Exports fail for some customers" in page.content()
    assert "internal" not in page.locator(".status-incident").inner_text()
    assert page.locator(".status-components li").count() == 3
    assert page.locator(".uptime").first.locator(".day").count() == 90
    shot(page, "during")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "during-phone")

    services.change_status(incident=incident, by=agent, to=Status.RESOLVED,
                           message="Exports work again.")  # fmt: skip
    statuspage.invalidate()
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/status/")
    assert page.locator(".status-overall h1").inner_text() == "All systems operational"
    assert page.locator(".status-incident").count() == 0
    shot(page, "after")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "after-phone")
    page.goto(f"{live_server.url}/status/incidents/{incident.number}/")
    assert "Exports work again." in page.content()
    assert "internal" not in page.locator("main").inner_text()
    assert reports == []
