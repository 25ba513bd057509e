"""A support lead builds "P0 for enterprise outages" in the rules editor, dry-runs it on the
recent tickets, saves and enables it; a new matching ticket is born P0. Screenshot for README."""

import os
import shutil

import pytest

from core.models.users import CustomerTier
from support.models import Rule
from support.models.choices import Priority
from tests.factories import OrganizationFactory, UserFactory
from tests.support.factories import make_default_sla_policies, make_ticket

from .test_pages_in_chromium import SCREENSHOTS, browser, sign_in, watch_for_csp_violations

__all__ = ["browser"]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
]
DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "screenshots")


def test_a_lead_builds_dry_runs_and_enables_p0_for_enterprise_outages(browser, live_server):
    make_default_sla_policies()
    enterprise = OrganizationFactory(name="Globex", tier=CustomerTier.ENTERPRISE)
    customer = UserFactory(roles=["customer"], email="ceo@globex.example", organization=enterprise)
    lead = UserFactory(roles=["support_lead"], email="lead@example.org", full_name="Lee Lead")
    earlier = make_ticket(by=customer, subject="Outage: the EU region is down")
    make_ticket(by=customer, subject="Invoice for March")

    page = sign_in(browser, live_server, lead.email)
    reports: list[str] = []
    watch_for_csp_violations(page, reports)
    page.click("nav >> text=Rules")
    page.click("text=New trigger")
    page.fill("#id_name", "P0 for enterprise outages")
    page.select_option("[aria-label='Condition 1 field']", "tier")
    page.select_option("[aria-label='Condition 1 operator']", "is")
    page.fill("[aria-label='Condition 1 value']", "enterprise")
    page.select_option("[aria-label='Condition 2 field']", "text")
    # Choosing a field narrows its operators to those it takes, by name.
    operators = page.locator("[aria-label='Condition 2 operator'] option").all_inner_texts()
    assert operators == ["contains any of", "contains none of"]
    page.select_option("[aria-label='Condition 2 operator']", "contains_any")
    page.fill("[aria-label='Condition 2 value']", "outage, down")
    page.select_option("[aria-label='Action 2']", "notify_email")
    assert page.get_attribute("[aria-label='Action 2 value']", "placeholder") == (
        "to | subject | body"
    )
    page.select_option("[aria-label='Action 2']", "")
    page.select_option("[aria-label='Action 1']", "set_priority")
    assert "urgent" in page.get_attribute("[aria-label='Action 1 value']", "placeholder")
    page.fill("[aria-label='Action 1 value']", "urgent")

    page.click("button:has-text('Dry run')")

    preview = page.locator("section.dry-run")
    assert "Dry run: 1 of 2 recent tickets" in preview.inner_text()
    assert (
        earlier.number in preview.inner_text()
        and "Set priority: high → urgent" in preview.inner_text()
    )
    assert not Rule.objects.filter(name="P0 for enterprise outages").exists()
    os.makedirs(SCREENSHOTS, exist_ok=True)
    path = os.path.join(SCREENSHOTS, "desk-rules-editor.png")
    page.screenshot(path=path, full_page=True)
    os.makedirs(DOCS, exist_ok=True)
    shutil.copyfile(path, os.path.join(DOCS, "desk-rules-editor.png"))

    page.click("button:has-text('Save')")
    assert "Saved “P0 for enterprise outages”" in page.content()
    page.click("button:has-text('Enable')")
    rule = Rule.objects.get(name="P0 for enterprise outages")
    assert rule.enabled and rule.author == lead

    fresh = make_ticket(by=customer, subject="Total outage since 9:00")
    assert fresh.priority == Priority.URGENT
    page.goto(f"{live_server.url}/desk/tickets/{fresh.number}/")
    assert "P0 Urgent" in page.content()
    earlier.refresh_from_db()
    assert earlier.priority == Priority.HIGH  # a dry run changed nothing
    assert reports == []
