"""The agent desk in a real browser: filter the queue, open a ticket, reply with a template and
resolve in one action, add a note, attach two files, reassign, change priority, merge, escalate;
and the customer never sees the note. Screenshots of the queue (desktop and phone) and the
workspace for the README."""

import os
import re

import pytest
from playwright.sync_api import expect

from support.models import Ticket
from support.models.choices import Status
from tests.factories import UserFactory
from tests.support.factories import (
    ResponseTemplateFactory,
    TeamFactory,
    make_default_sla_policies,
    make_ticket,
)
from tests.support.test_conversation import pdf_bytes, png_bytes

from .test_pages_in_chromium import SCREENSHOTS, browser, sign_in, watch_for_csp_violations

__all__ = ["browser"]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
]


def shot(page, name, *, full_page=True):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, f"desk-{name}.png"), full_page=full_page)


def test_an_agent_works_a_ticket_from_the_queue_to_resolved(browser, live_server, tmp_path):
    make_default_sla_policies()
    customer = UserFactory(roles=["customer"], email="kim@example.org", full_name="Kim Customer")
    lead = UserFactory(roles=["support_lead"], email="lead@example.org", full_name="Lee Lead")
    colleague = UserFactory(roles=["agent"], email="sam@example.org", full_name="Sam Second")
    TeamFactory(name="Billing", members=[lead, colleague])
    ticket = make_ticket(by=customer, subject="Invoice shows the wrong VAT", priority="high")
    duplicate = make_ticket(by=customer, subject="VAT wrong again")
    for n in range(6):
        make_ticket(by=customer, subject=f"Other question {n}", priority="low")
    ResponseTemplateFactory(
        name="Fixed invoice", body="Hello {{ customer.name }},\n\nYour invoice is corrected."
    )

    page = sign_in(browser, live_server, lead.email)
    reports: list[str] = []
    watch_for_csp_violations(page, reports)
    page.click("#queue-views >> text=All open")
    page.click("text=Filters")
    page.select_option("#id_priority", "high")
    page.click("button:has-text('Apply')")
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 1 and "Invoice shows the wrong VAT" in rows.first.inner_text()
    page.goto(f"{live_server.url}/desk/?view=all")
    shot(page, "queue")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "queue-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 391
    page.set_viewport_size({"width": 1280, "height": 900})

    page.click(f"text={ticket.number}")
    assert page.locator("h1").inner_text() == "Invoice shows the wrong VAT"
    # A note with two files.
    page.fill("#id_body", "Customer is on the **old** VAT rate.")
    page.check("#id_internal")
    first, second = tmp_path / "one.png", tmp_path / "two.png"
    first.write_bytes(png_bytes())
    second.write_bytes(png_bytes())
    page.set_input_files("#id_files", [str(first), str(second)])
    page.click("button.primary:has-text('Send')")
    assert "Noted." in page.content()
    note = ticket.messages.get(is_internal=True)
    assert note.attachments.count() == 2

    # Reassign and change priority in place.
    page.select_option("#id_assignee", label="Sam Second")
    page.select_option("#id_priority", "urgent")
    page.click("button:has-text('Save properties')")
    ticket.refresh_from_db()
    assert (ticket.assigned_to, ticket.priority) == (colleague, "urgent")
    assert "Priority:" in page.locator("ol.events").inner_text()

    # Escalate with a reason.
    page.click("summary:has-text('Escalate or remind')")
    page.fill("#reason", "VIP customer")
    page.click("button:has-text('Escalate one level')")
    ticket.refresh_from_db()
    assert ticket.escalation_level == 1

    # A template at the cursor, then reply and resolve in one action.
    page.select_option("#template-pick", label="Fixed invoice")
    expect(page.locator("#id_body")).to_have_value(re.compile("corrected"))
    assert "Kim Customer" in page.input_value("#id_body")
    page.click("button:has-text('Preview')")
    page.wait_for_selector("#composer-preview .body")
    shot(page, "ticket")
    page.click("button:has-text('Send and resolve')")
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert "corrected" in ticket.messages.get(is_internal=False).body_text

    # Merge the duplicate into it, confirmed.
    page.goto(f"{live_server.url}/desk/tickets/{duplicate.number}/")
    page.click("summary:has-text('Merge or link')")
    page.fill("#pick_number", ticket.number)
    page.check("#pick_confirm")
    page.click("button:has-text('Go')")
    assert Ticket.objects.get(pk=duplicate.pk).status == Status.CLOSED
    assert page.url.endswith(f"/desk/tickets/{ticket.number}/")

    page.click("nav >> text=Dashboard")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator("svg.chart rect.solved").count() == 14
    shot(page, "dashboard")
    assert reports == [], reports

    # The customer reads the answer and never the note.
    help_center = sign_in(browser, live_server, customer.email)
    help_center.goto(f"{live_server.url}/help/tickets/{ticket.number}/")
    content = help_center.content()
    assert "corrected" in content and "old" not in content and "one.png" not in content


def test_cancelling_asks_first_and_nothing_is_preselected(browser, live_server):
    make_default_sla_policies()
    customer = UserFactory(roles=["customer"])
    agent = UserFactory(roles=["agent"], email="ann@example.org")
    ticket = make_ticket(by=customer)
    page = sign_in(browser, live_server, agent.email)
    page.goto(f"{live_server.url}/desk/tickets/{ticket.number}/")
    assert page.input_value("#move_status") == ""
    confirm = page.locator(".status-change .confirm")
    assert not confirm.is_visible()
    page.select_option("#move_status", "cancelled")
    assert confirm.is_visible()
    page.click("button:has-text('Change status')")
    assert "cannot be undone" in page.content()
    assert Ticket.objects.get(pk=ticket.pk).status == Status.OPEN


def test_a_pdf_attachment_previews_in_a_dialog(browser, live_server, tmp_path):
    make_default_sla_policies()
    customer = UserFactory(roles=["customer"])
    agent = UserFactory(roles=["agent"], email="ann@example.org")
    ticket = make_ticket(by=customer, subject="Invoice attached")
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(pdf_bytes("Invoice 2026-114", "Terms and conditions"))
    page = sign_in(browser, live_server, agent.email)
    reports: list[str] = []
    watch_for_csp_violations(page, reports)
    page.goto(f"{live_server.url}/desk/tickets/{ticket.number}/")
    page.fill("#id_body", "The customer's invoice, for the record.")
    page.check("#id_internal")
    page.set_input_files("#id_files", [str(invoice)])
    page.click("button.primary:has-text('Send')")
    page.click("a[data-preview='application/pdf']:has-text('invoice.pdf')")
    dialog = page.locator("dialog#file-preview")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".pdf-status")).to_have_text("2 pages")
    expect(dialog.locator(".pdf-pages canvas")).to_have_count(2)
    assert dialog.locator("#file-preview-name").inner_text() == "invoice.pdf"
    # Drawn, not blank: the first page's canvas holds dark pixels (the text).
    inked = page.evaluate(
        """() => {
          const canvas = document.querySelector("#file-preview .pdf-pages canvas");
          const { width, height } = canvas;
          const pixels = canvas.getContext("2d").getImageData(0, 0, width, height).data;
          let dark = 0;
          for (let i = 0; i < pixels.length; i += 4) {
            if (pixels[i] < 100 && pixels[i + 3] > 0) dark++;
          }
          return dark;
        }"""
    )
    assert inked > 100
    shot(page, "pdf-preview", full_page=False)  # the dialog, over the page as the agent sees it
    page.click("dialog#file-preview button.close")
    expect(dialog).to_be_hidden()
    assert reports == [], reports
