"""The Django admin in a real browser, as issue 19 asks: an agent works a ticket there (only the
tickets they may see, an action, a reply through the services), and a support lead edits a
business calendar (working hours and a holiday) that the SLA clocks then use."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from core.models import BusinessCalendar
from support.models import Ticket
from support.models.choices import Status
from tests.factories import UserFactory
from tests.support.factories import TeamFactory, make_default_sla_policies, make_ticket

from .test_desk_in_chromium import shot
from .test_pages_in_chromium import browser, sign_in, watch_for_csp_violations

__all__ = ["browser"]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
]


def test_an_agent_works_a_ticket_in_the_admin(browser, live_server):
    make_default_sla_policies()
    customer = UserFactory(roles=["customer"], email="kim@example.org")
    agent = UserFactory(roles=["agent"], email="ann@example.org", full_name="Ann Agent")
    other_team = TeamFactory(name="Hardware")
    ticket = make_ticket(by=customer, subject="Cannot export the report")
    hidden = make_ticket(by=customer, subject="Another team's ticket")
    Ticket.objects.filter(pk=hidden.pk).update(team=other_team)

    page = sign_in(browser, live_server, agent.email)
    reports: list[str] = []
    watch_for_csp_violations(page, reports)
    page.goto(f"{live_server.url}/desk/")
    page.click("nav >> text=Admin")
    page.click("a:has-text('Tickets')")
    listing = page.locator("#result_list").inner_text()
    assert ticket.number in listing and hidden.number not in listing

    page.check(f"#result_list tr:has-text('{ticket.number}') input.action-select")
    page.select_option("select[name=action]", "assign_to_me")
    page.click("button[name=index]")
    ticket.refresh_from_db()
    assert (ticket.assigned_to, ticket.status) == (agent, Status.ASSIGNED)
    shot(page, "admin-agent-tickets")

    page.click(f"#result_list a:has-text('{ticket.number}')")
    page.click("a:has-text('Reply or add a note')")
    page.fill("textarea[name=body]", "Exports work again after today's fix.")
    page.click("input[type=submit], button[type=submit] >> nth=-1")
    expect(page.locator(".messagelist")).to_contain_text("Sent.")
    reply = ticket.messages.get(is_internal=False, author=agent)
    assert "Exports work again" in reply.body_text
    # Someone else's ticket is not there, even by its address.
    page.goto(f"{live_server.url}/admin/support/ticket/{hidden.pk}/change/")
    assert hidden.subject not in page.content()
    assert reports == [], reports


def test_a_lead_edits_a_business_calendar_in_the_admin(browser, live_server):
    lead = UserFactory(roles=["support_lead"], email="lee@example.org", full_name="Lee Lead")
    calendar = BusinessCalendar.objects.create(name="Support hours", time_zone="Europe/Berlin")
    calendar.intervals.create(weekday=0, start_time=dt.time(9), end_time=dt.time(17))

    page = sign_in(browser, live_server, lead.email)
    page.goto(f"{live_server.url}/admin/")
    page.click("a:has-text('Business calendars')")
    page.click("a:has-text('Support hours')")
    page.fill("input[name=intervals-0-end_time]", "18:00")
    page.click("#intervals-group .add-row a")
    page.select_option("select[name=intervals-1-weekday]", "1")
    page.fill("input[name=intervals-1-start_time]", "09:00")
    page.fill("input[name=intervals-1-end_time]", "17:00")
    page.click("#holidays-group .add-row a")
    page.fill("input[name=holidays-0-date]", "2026-12-25")
    page.fill("input[name=holidays-0-name]", "Christmas Day")
    shot(page, "admin-lead-calendar")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    hours = sorted(
        calendar.intervals.values_list("weekday", "start_time", "end_time"), key=lambda row: row
    )
    assert hours == [(0, dt.time(9), dt.time(18)), (1, dt.time(9), dt.time(17))]
    assert list(calendar.holidays.values_list("date", "name")) == [
        (dt.date(2026, 12, 25), "Christmas Day")
    ]
